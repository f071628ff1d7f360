export { researchRun } from './research-run';

// The two ways the ExperimentAgent can work. `copilot` is this service's own: every MLAgentBench action, the
// last 10 steps in full, a failed measurement handed back to debug. `mlab` reproduces the setting upstream
// MLAgentBench measures its research agent in (snap-stanford/MLAgentBench, MLAgentBench/runner.py defaults):
// the eight actions its prompt shows once the research-log and file-writing actions are removed, the last
// 3 steps in context, long observations summarised, 50 steps and 5 hours at most (the workflow enforces
// those two), and a Final Answer that is final. What still differs is listed in tasks/README.md.
import type { Task } from '../tasks/library';
import { TOOL_NAMES, type ToolName } from '../experiments/tools';
import type { AgentProfile } from '../domain/run-input';
import { agentSystemPrompt, FULL_STEPS } from './agent-prompts';

export interface ProfileSpec {
  name: AgentProfile;
  tools: readonly ToolName[];
  /** Steps whose observation is shown in full; older ones get one line each. */
  fullSteps: number;
  /** Observations longer than this (characters) are shown summarised by a model; null: shown bounded. */
  summariseAbove: number | null;
  /** Executions of the starter whose mean is the run's baseline (upstream averages its baseline runs). */
  baselineRuns: number;
  /** Show the model its own text from the steps in context (upstream's Research Plan and Status is its memory). */
  keepThoughts: boolean;
  system(task: Task): string;
}

/** Upstream's default prompt actions: List Files, Copy File, Undo Edit Script, Execute Script, Final Answer,
 * Understand File, Inspect Script Lines, Edit Script (AI). */
export const MLAB_TOOLS: readonly ToolName[] = [
  'list_files',
  'copy_file',
  'undo_edit_script',
  'execute_script',
  'final_answer',
  'understand_file',
  'inspect_script_lines',
  'edit_script',
];

function mlabSystem(task: Task): string {
  return [
    'You are a research assistant working on a machine-learning research problem in a workspace of files.',
    'Each step you call exactly one tool. Before acting, think about your plan and its status, check which',
    'facts you have confirmed by running code, and only then choose the action.',
    `Your goal is to improve ${task.metric} (${task.direction === 'max' ? 'higher' : 'lower'} is better) on the`,
    'hidden test set; you never see that score, only what your scripts print. When you are done, call',
    'final_answer: it is final, and the files as they are then are what gets evaluated.',
  ].join('\n');
}

export const PROFILES: Record<AgentProfile, ProfileSpec> = {
  copilot: {
    name: 'copilot',
    tools: TOOL_NAMES,
    fullSteps: FULL_STEPS,
    summariseAbove: null,
    baselineRuns: 1,
    keepThoughts: false,
    system: agentSystemPrompt,
  },
  mlab: {
    name: 'mlab',
    tools: MLAB_TOOLS,
    fullSteps: 3,
    summariseAbove: 5000,
    baselineRuns: 3,
    keepThoughts: true,
    system: mlabSystem,
  },
};

export const profileOf = (input: { benchmark?: { profile: AgentProfile } } | null | undefined): ProfileSpec =>
  PROFILES[input?.benchmark?.profile ?? 'copilot'];

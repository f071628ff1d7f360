import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const TEST_DATA = path.join(ROOT, '.test-data');
export const STACK_FILE = path.join(TEST_DATA, 'stack.json');

export interface StackInfo {
  pgUrl: string;
  temporalAddress: string;
  bundlePath: string;
}

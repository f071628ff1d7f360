// How the service's own tools (eval.py, prepare.py) are wrapped in a sandbox: given the command, the folders
// it reads and its working folder, the program and arguments to run instead. Built in experiments/executor/
// sandbox.ts; taken by the task library and the scorer, which must not depend on the executor.
export type Isolate = (command: string[], readOnly: string[], cwd: string) => [string, string[]];

/** `command` run with `vars` set (through env(1): the sandboxes start from an empty environment). */
export function withEnv(command: string[], vars: Record<string, string>): string[] {
  const set = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  return set.length ? ['/usr/bin/env', ...set, ...command] : command;
}

// The import graph stays acyclic (type imports counted): each concern in one place, lower layers never reaching
// back up through a cycle. madge reads the same tsconfig the compiler does.
import fs from 'node:fs';
import path from 'node:path';
import madge from 'madge';
import { ROOT } from './support/paths';

it('has no import cycles in the service or the console', async () => {
  const graph = await madge([path.join(ROOT, 'src'), path.join(ROOT, 'console', 'src')], {
    fileExtensions: ['ts', 'tsx'],
    tsConfig: path.join(ROOT, 'tsconfig.json'),
  });
  expect(Object.keys(graph.obj()).length).toBeGreaterThan(150);
  expect(graph.circular()).toEqual([]);
}, 60_000);

it.each([
  ['src/db/runs.ts', "import type { RunInput } from '../workflows/definitions';", /src\/domain/],
  ['src/api/routes/runs.ts', "import { createActivities } from '../../activities';", /never through activities/],
  ['src/workflows/research-run.ts', "import { getRun } from '../db/runs';", /never reach the stores/],
  ['src/domain/run.ts', "import { ErrorType } from '../errors';", /imports nothing of the service/],
])(
  'refuses a layer-crossing import in %s',
  async (file, line, message) => {
    const { ESLint } = await import('eslint');
    const eslint = new ESLint({ cwd: ROOT });
    const source = `${line}\n${fs.readFileSync(path.join(ROOT, file), 'utf8')}`;
    const [result] = await eslint.lintText(source, { filePath: path.join(ROOT, file) });
    const restricted = result!.messages.filter((m) => m.ruleId === 'no-restricted-imports');
    expect(restricted.map((m) => m.message)).toEqual([expect.stringMatching(message)]);
  },
  60_000,
);

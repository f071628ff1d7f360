// The import graph stays acyclic (type imports counted): each concern in one place, lower layers never reaching
// back up through a cycle. madge reads the same tsconfig the compiler does.
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

// A run may choose its backend: specs go to the backend they name, or to the default one.
import {
  createRoutingExecutor,
  SandboxUnavailableError,
  type ExecutionResult,
  type ExecutionSpec,
  type Executor,
} from '../../src/experiments/executor/types';

const backend = (name: string, ran: string[]): Executor => ({
  name,
  async execute(spec) {
    ran.push(`${name}:${spec.key}`);
    return { backend: name } as ExecutionResult;
  },
});
const spec = (key: string, chosen?: string) => ({ key, backend: chosen }) as ExecutionSpec;

it('sends a spec to the backend it names, else to the default, and refuses one that is not enabled', async () => {
  const ran: string[] = [];
  const routing = createRoutingExecutor(backend('local', ran), [backend('kubernetes', ran)]);
  expect(routing.name).toBe('local');
  await routing.execute(spec('a'));
  await routing.execute(spec('b', 'kubernetes'));
  await routing.execute(spec('c', 'local'));
  expect(ran).toEqual(['local:a', 'kubernetes:b', 'local:c']);
  expect(() => routing.execute(spec('d', 'slurm'))).toThrow(SandboxUnavailableError);
  expect(() => routing.execute(spec('d', 'slurm'))).toThrow(/slurm executor is not enabled/);
});

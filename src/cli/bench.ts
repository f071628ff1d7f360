// `mlr bench`: start a benchmark over library tasks, follow it, and print its result table.
import { Option, type Command } from 'commander';
import type { ApiClient } from './client';
import { CliError, EXIT } from './errors';
import type { Settings } from './settings';

interface BenchmarkView {
  id: string;
  name: string;
  status: string;
  runs: { total: number; byStatus: Record<string, number> };
}

const RUN_FINAL = ['succeeded', 'failed', 'rejected', 'cancelled'];

const whole = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(EXIT.usage, 'BadArgument', `${flag} ${v} is not a whole number ≥ 1`);
  return n;
};

/** Follows the benchmark's event stream until it ends, with a spinner counting finished runs. */
async function wait(
  client: ApiClient,
  id: string,
  stderr: NodeJS.WritableStream,
  quiet: boolean,
): Promise<BenchmarkView> {
  const { default: ora } = await import('ora');
  const spinner = quiet ? undefined : ora({ stream: stderr, discardStdin: false }).start('benchmark running');
  const progress = async () => {
    const view = await client.get<BenchmarkView>(`/v1/benchmarks/${id}`);
    const done = Object.entries(view.runs.byStatus)
      .filter(([s]) => RUN_FINAL.includes(s))
      .reduce((n, [, k]) => n + k, 0);
    if (spinner) spinner.text = `${done}/${view.runs.total} runs finished (${view.status})`;
    return view;
  };
  let last = 0;
  await client.follow(`/v1/campaigns/${id}/events`, async () => {
    if (Date.now() - last < 1000) return; // at most one refresh a second, however many events arrive
    last = Date.now();
    await progress();
  });
  const view = await progress();
  if (spinner) {
    if (view.status === 'completed') spinner.succeed(`benchmark ${view.status}: ${view.runs.total} runs`);
    else spinner.fail(`benchmark ${view.status}`);
  }
  return view;
}

/** Adds `bench` to the program (created from it, so that it inherits its error handling and output). */
export function addBenchCommand(
  program: Command,
  ctx: (cmd: Command) => { settings: Settings; client: ApiClient },
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): void {
  const bench = program.command('bench').description('benchmarks: library tasks scored as MLAgentBench scores agents');
  const report = async (settings: Settings, client: ApiClient, id: string) => {
    if (settings.json)
      io.stdout.write(`${await client.text(`/v1/benchmarks/${id}/report?format=json`, 'application/json')}\n`);
    else io.stdout.write(await client.text(`/v1/benchmarks/${id}/report`, 'text/markdown'));
  };
  bench
    .command('start')
    .description('start a benchmark over tasks of the library')
    .argument('<tasks...>', 'task ids')
    .requiredOption('--usd <amount>', 'the budget in USD', (v) => {
      const n = Number(v);
      if (!(n > 0)) throw new CliError(EXIT.usage, 'BadArgument', `--usd ${v} is not a positive amount`);
      return n;
    })
    .option('--runs <n>', 'runs per task (default 8, as upstream)', whole('--runs'))
    .option('--seeds <k>', 'validation seeds per arm (default the server’s)', whole('--seeds'))
    .addOption(new Option('--profile <profile>', 'the agent profile (default mlab)').choices(['copilot', 'mlab']))
    .option('--wait', 'follow it to the end and print the result table')
    .action(
      async (
        tasks: string[],
        o: { usd: number; runs?: number; seeds?: number; profile?: string; wait?: boolean },
        cmd: Command,
      ) => {
        const { settings, client } = ctx(cmd);
        const created = await client.post<BenchmarkView>('/v1/benchmarks', {
          tasks,
          budget: { usd: o.usd },
          ...(o.runs ? { runsPerTask: o.runs } : {}),
          ...(o.seeds ? { validationSeeds: o.seeds } : {}),
          ...(o.profile ? { profile: o.profile } : {}),
        });
        if (!o.wait) {
          io.stdout.write(
            settings.json
              ? `${JSON.stringify(created, null, 2)}\n`
              : `${created.id}  ${created.status}  ${created.runs.total} runs\n`,
          );
          return;
        }
        if (!settings.json) io.stderr.write(`benchmark ${created.id}\n`);
        const view = await wait(client, created.id, io.stderr, settings.json);
        await report(settings, client, created.id);
        if (view.status !== 'completed')
          throw new CliError(EXIT.runFailed, 'BenchmarkEnded', `benchmark ${view.id} ended ${view.status}`);
      },
    );
  bench
    .command('show')
    .description("a benchmark's result table (so far)")
    .argument('<id>', 'benchmark id')
    .action(async (id: string, _o, cmd: Command) => {
      const { settings, client } = ctx(cmd);
      await report(settings, client, encodeURIComponent(id));
    });
  bench
    .command('list')
    .description('your benchmarks, newest first')
    .action(async (_o, cmd: Command) => {
      const { settings, client } = ctx(cmd);
      const page = await client.get<{ items: BenchmarkView[] }>('/v1/benchmarks?limit=100');
      io.stdout.write(
        settings.json
          ? `${JSON.stringify(page, null, 2)}\n`
          : `${page.items.map((b) => `${b.id}  ${b.status}  ${b.name}`).join('\n') || 'no benchmarks'}\n`,
      );
    });
}

// `mlr`: the command line of mlr-copilot (commander for arguments, ora for progress). Every command takes
// --url/--token-file (or MLR_URL/MLR_TOKEN, or the config file) and --json; exit codes are in errors.ts.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { addBenchCommand } from './bench';
import { ApiClient } from './client';
import { CliError, EXIT } from './errors';
import { resolveSettings, type Settings } from './settings';
import { terminalJson, terminalSafe, terminalText } from './terminal';
import { watchRun, type RunView } from './watch';

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

type Row = Record<string, unknown>;

const VERSION = (
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;

const table = (rows: string[][]): string => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
};

function open(file: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const opener = env.BROWSER ?? (process.platform === 'darwin' ? 'open' : 'xdg-open');
  return new Promise((resolve) => {
    const child = spawn(opener, [file], { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}

export function buildProgram(io: Io): Command {
  const program = new Command('mlr')
    .description('mlr-copilot from the command line: papers, runs, decisions, logs and reports')
    .option('--url <url>', 'the API (default: MLR_URL, the config file, or http://127.0.0.1:8080)')
    .option(
      '--token-file <file>',
      'read the API token from this file, or - for stdin (default: MLR_TOKEN or the config file)',
    )
    .addOption(new Option('--token <token>').hideHelp())
    .option('--config <file>', 'config file (default: MLR_CONFIG or ~/.config/mlr/config.json)')
    .option('--json', 'print JSON for scripts instead of text')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });

  const ctx = (cmd: Command): { settings: Settings; client: ApiClient } => {
    const settings = resolveSettings(cmd.optsWithGlobals(), io.env);
    return { settings, client: new ApiClient(settings) };
  };
  const print = (settings: Settings, json: unknown, text: () => string): void => {
    io.stdout.write(settings.json ? `${JSON.stringify(json, null, 2)}\n` : `${text()}\n`);
  };

  const papers = program.command('papers').description('papers to read');
  papers
    .command('add')
    .description('upload a paper (PDF, Markdown or text)')
    .argument('<file>', 'the paper')
    .action(async (file: string, _o, cmd: Command) => {
      const { settings, client } = ctx(cmd);
      const paper = await client.upload<Row & { id: string; title: string }>(file);
      print(settings, paper, () => `${paper.id}  ${paper.title}`);
    });
  papers
    .command('list')
    .description('your papers, newest first')
    .action(async (_o, cmd: Command) => {
      const { settings, client } = ctx(cmd);
      const page = await client.get<{ items: Array<{ id: string; title: string; format: string }> }>(
        '/v1/papers?limit=100',
      );
      print(settings, page, () =>
        page.items.length ? table(page.items.map((p) => [p.id, p.format, p.title])) : 'no papers',
      );
    });

  const runs = program.command('runs').description('research runs');
  runs
    .command('start')
    .description('start a research run on a paper')
    .requiredOption('--paper <id>', 'the paper')
    .addOption(new Option('--mode <mode>', 'who approves the idea').choices(['supervised', 'autonomous']))
    .addOption(new Option('--until <stage>', 'where the run stops').choices(['approved', 'measured', 'succeeded']))
    .option('--ideas <n>', 'ideas per round (1-10)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n)) throw new CliError(EXIT.usage, 'BadArgument', `--ideas ${v} is not a whole number`);
      return n;
    })
    .option('--task <id>', 'pin the task library entry')
    .option('--watch', 'follow the run live until it ends or stops')
    .action(
      async (
        o: { paper: string; mode?: string; until?: string; ideas?: number; task?: string; watch?: boolean },
        cmd: Command,
      ) => {
        const { settings, client } = ctx(cmd);
        const run = await client.post<RunView>('/v1/runs', {
          paperId: o.paper,
          ...(o.mode ? { mode: o.mode } : {}),
          ...(o.until ? { until: o.until } : {}),
          ...(o.ideas !== undefined ? { ideaCount: o.ideas } : {}),
          ...(o.task ? { taskId: o.task } : {}),
        });
        if (!o.watch) return print(settings, run, () => `${run.id}  ${run.status}`);
        if (!settings.json) io.stderr.write(`run ${run.id}\n`);
        await finish(settings, client, run.id);
      },
    );
  runs
    .command('watch')
    .description('follow a run live until it ends or stops')
    .argument('<run>', 'run id')
    .action(async (id: string, _o, cmd: Command) => {
      const { settings, client } = ctx(cmd);
      await finish(settings, client, id);
    });
  runs
    .command('list')
    .description('your runs, newest first')
    .option('--status <status>', 'only runs in this status')
    .option('--campaign <id>', "only this campaign's runs")
    .action(async (o: { status?: string; campaign?: string }, cmd: Command) => {
      const { settings, client } = ctx(cmd);
      const q = new URLSearchParams({ limit: '100' });
      if (o.status) q.set('status', o.status);
      if (o.campaign) q.set('campaignId', o.campaign);
      const page = await client.get<{ items: Array<RunView & { mode: string; updatedAt: string }> }>(`/v1/runs?${q}`);
      print(settings, page, () =>
        page.items.length ? table(page.items.map((r) => [r.id, r.status, r.mode, r.updatedAt])) : 'no runs',
      );
    });
  runs
    .command('show')
    .description("a run's state")
    .argument('<run>', 'run id')
    .action(async (id: string, _o, cmd: Command) => {
      const { settings, client } = ctx(cmd);
      const run = await client.get<RunView>(`/v1/runs/${encodeURIComponent(id)}`);
      print(settings, run, () => describe(run));
    });
  runs
    .command('logs')
    .description("the run's events in order (with --execution, that execution's output)")
    .argument('<run>', 'run id')
    .option('-f, --follow', 'keep printing new events until the run ends')
    .option('--execution <id>', "print this execution's log instead")
    .action(async (id: string, o: { follow?: boolean; execution?: string }, cmd: Command) => {
      const { settings, client } = ctx(cmd);
      const run = encodeURIComponent(id);
      if (o.execution) {
        io.stdout.write(await client.text(`/v1/runs/${run}/experiments/${encodeURIComponent(o.execution)}/log`));
        return;
      }
      const line = (e: { id: number; type: string; data: Row; at?: string }) =>
        settings.json
          ? JSON.stringify(e)
          : `${(e.at ?? (e.data.at as string | undefined) ?? '').slice(11, 19)}  ${e.type.padEnd(12)}  ${summary(e.type, e.data)}`;
      let after = 0;
      for (;;) {
        const page = await client.get<{
          items: Array<{ id: number; type: string; data: Row; at: string }>;
          nextAfter: number | null;
        }>(`/v1/runs/${run}/history?after=${after}&limit=500`);
        for (const e of page.items) io.stdout.write(`${line(e)}\n`);
        if (page.items.length) after = page.items[page.items.length - 1]!.id;
        if (page.nextAfter === null) break;
      }
      if (!o.follow) return;
      await client.follow(`/v1/runs/${run}/events`, (e) => {
        if (e.id > after) io.stdout.write(`${line(e)}\n`);
      });
    });

  program
    .command('approvals')
    .description('the decisions waiting on you, the longest-waiting first')
    .action(async (_o, cmd: Command) => {
      const { settings, client } = ctx(cmd);
      const inbox = await client.get<{
        items: Array<{
          runId: string;
          paper: { title: string | null };
          waitingSeconds: number;
          round: number;
          ideas: RunView['ideas'];
        }>;
      }>('/v1/approvals?limit=200');
      print(settings, inbox, () =>
        inbox.items.length
          ? inbox.items
              .map((a) =>
                [
                  `${a.runId}  ${a.paper.title ?? 'untitled'}  (waiting ${a.waitingSeconds} s)`,
                  ...a.ideas
                    .filter((i) => i.round === a.round)
                    .map(
                      (i) =>
                        `  #${i.rank ?? '?'} ${i.title}${i.review?.score ? ` (review ${i.review.score})` : ''}  [${i.id}]`,
                    ),
                ].join('\n'),
              )
              .join('\n')
          : 'nothing is waiting on you',
      );
    });

  const decide = async (cmd: Command, id: string, body: Row, done: string) => {
    const { settings, client } = ctx(cmd);
    const res = await client.post<Row>(`/v1/runs/${encodeURIComponent(id)}/approval`, body);
    print(settings, res, () => done);
  };
  program
    .command('approve')
    .description("approve a run's idea (default: its top-ranked one)")
    .argument('<run>', 'run id')
    .argument('[idea]', 'idea id')
    .action((id: string, idea: string | undefined, _o, cmd: Command) =>
      decide(
        cmd,
        id,
        { decision: 'approve', ...(idea ? { ideaId: idea } : {}) },
        `approved ${idea ?? 'the top idea'} of ${id}`,
      ),
    );
  program
    .command('revise')
    .description('ask for a new round of ideas with your feedback')
    .argument('<run>', 'run id')
    .argument('<feedback>', 'what the next ideas should do differently')
    .action((id: string, feedback: string, _o, cmd: Command) =>
      decide(cmd, id, { decision: 'revise', feedback }, `asked ${id} for new ideas`),
    );
  program
    .command('reject')
    .description('reject the ideas and end the run')
    .argument('<run>', 'run id')
    .action((id: string, _o, cmd: Command) => decide(cmd, id, { decision: 'reject' }, `rejected ${id}`));

  program
    .command('report')
    .description("a run's validated report (Markdown; --open shows it in a browser)")
    .argument('<run>', 'run id')
    .option('--open', 'write the HTML report (chart inlined) to a file and open it')
    .action(async (id: string, o: { open?: boolean }, cmd: Command) => {
      const { settings, client } = ctx(cmd);
      const run = encodeURIComponent(id);
      if (o.open) {
        const html = await client.text(`/v1/runs/${run}/report`, 'text/html');
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-report-')), `report-${id}.html`);
        fs.writeFileSync(file, html);
        const opened = await open(file, io.env);
        return print(settings, { file, opened }, () =>
          opened ? `opened ${file}` : `wrote ${file} (no browser to open it)`,
        );
      }
      if (settings.json)
        io.stdout.write(`${await client.text(`/v1/runs/${run}/report?format=json`, 'application/json')}\n`);
      else io.stdout.write(await client.text(`/v1/runs/${run}/report`, 'text/markdown'));
    });

  addBenchCommand(program, ctx, io);

  const finish = async (settings: Settings, client: ApiClient, id: string) => {
    const run = await watchRun(client, encodeURIComponent(id), {
      json: settings.json,
      stderr: io.stderr,
      stdout: io.stdout,
    });
    if (settings.json) io.stdout.write(`${JSON.stringify(run)}\n`);
    else io.stdout.write(`${describe(run)}\n`);
    if (['failed', 'cancelled', 'rejected'].includes(run.status)) {
      throw new CliError(EXIT.runFailed, 'RunEnded', `run ${run.id} ended ${run.status}`, undefined);
    }
  };
  return program;
}

function describe(run: RunView): string {
  const lines = [`run ${run.id}: ${run.status}`];
  if (run.result) {
    const r = run.result;
    lines.push(
      `${r.metric}: baseline ${r.baseline.toFixed(4)} → candidate ${r.value.toFixed(4)} (${r.improvement >= 0 ? '+' : ''}${r.improvement.toFixed(4)})`,
    );
  }
  if (run.validation?.verdict) lines.push(`verdict: ${run.validation.verdict} · report: mlr report ${run.id}`);
  if (run.error) lines.push(`error: ${run.error}`);
  if (run.status === 'awaiting_approval') lines.push(`waiting for you: mlr approvals`);
  return lines.join('\n');
}

function summary(type: string, d: Row): string {
  const text = JSON.stringify(Object.fromEntries(Object.entries(d).filter(([k]) => k !== 'at')), (_k, v: unknown) =>
    typeof v === 'string' && v.length > 80 ? `${v.slice(0, 80)}…` : v,
  );
  if (type === 'status') return String(d.status);
  if (type === 'agent_step') return `step ${String(d.step)} ${String(d.tool)}`;
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Runs the CLI; resolves with the exit code (the bin calls process.exit with it). */
export async function main(
  argv: string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  const json = argv.includes('--json');
  // Everything printed comes from the server, and some of it from experiment code or a model: made inert.
  const program = buildProgram({ ...io, stdout: terminalSafe(io.stdout, json) });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0
        ? EXIT.ok
        : EXIT.usage;
    }
    const e =
      err instanceof CliError ? err : new CliError(EXIT.internal, 'Internal', (err as Error).stack ?? String(err));
    io.stderr.write(
      json
        ? `${terminalJson(JSON.stringify({ error: { code: e.code, message: e.message, status: e.status ?? null }, exitCode: e.exitCode }))}\n`
        : `mlr: ${e.code}: ${terminalText(e.message)}\n`,
    );
    return e.exitCode;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

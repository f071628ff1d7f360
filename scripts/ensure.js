#!/usr/bin/env node
// Installs whatever a fresh clone lacks before `npm start` / `npm test`: npm packages, then the Python
// venv (Temporal CLI + experiment packages), bubblewrap, and (`--test`) the Chromium the browser test drives. Plain CommonJS on purpose: it runs on whatever `node` is on
// PATH, possibly the system's old one, before node_modules (and the Node 24 binary in it) exist.
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const npmOnly = process.argv.includes('--npm-only');

function hashOf(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function run(cmd, args) {
  console.log(`[ensure] ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
}

function ensureNpm() {
  const stamp = path.join(root, 'node_modules', '.mlr-installed');
  const manifests = () =>
    hashOf(path.join(root, 'package.json')) +
    (fs.existsSync(path.join(root, 'package-lock.json')) ? hashOf(path.join(root, 'package-lock.json')) : '');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === manifests()) return;
  // `npm install` honours the lock file and, unlike `npm ci`, does not wipe a working node_modules.
  run('npm', ['install', '--no-audit', '--no-fund']);
  fs.writeFileSync(stamp, manifests()); // after install: it may have rewritten the lock file
}

function findPython() {
  for (const candidate of ['python3.12', 'python3.11', 'python3']) {
    try {
      const v = execFileSync(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      const [major, minor] = v.split('.').map(Number);
      if (major === 3 && minor >= 10) return candidate;
    } catch {
      // not installed; try the next name
    }
  }
  throw new Error('Python >= 3.10 is required to create the experiment venv (python3 not found)');
}

function ensureVenv() {
  const venv = path.join(root, '.venv');
  const req = path.join(root, 'python', 'requirements.txt');
  const stamp = path.join(venv, '.mlr-installed');
  // The experiment pins live in their own file (shared with the images), included by requirements.txt.
  const want = hashOf(req) + hashOf(path.join(root, 'python', 'experiment-requirements.txt'));
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return;
  if (!fs.existsSync(path.join(venv, 'bin', 'python'))) run(findPython(), ['-m', 'venv', venv]);
  run(path.join(venv, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', req]);
  fs.writeFileSync(stamp, want);
}

function onPath(name) {
  return (process.env.PATH || '/usr/bin:/bin')
    .split(':')
    .concat(['/usr/bin', '/bin'])
    .some((d) => fs.existsSync(path.join(d, name)));
}

/** apt-get install, as root on Debian/Ubuntu; otherwise (or if it fails) a warning that says what to do. */
function aptInstall(pkg, binary, consequence, advice) {
  if (onPath(binary)) return;
  if (process.getuid?.() !== 0 || !onPath('apt-get')) {
    console.warn(`[ensure] ${binary} is missing: ${consequence} until you ${advice}`);
    return;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => execFileSync('apt-get', args, { stdio: 'inherit', env });
  try {
    console.log(`[ensure] apt-get install ${pkg}`);
    try {
      apt(['install', '-y', '-qq', '--no-install-recommends', pkg]);
    } catch {
      apt(['update', '-qq']);
      apt(['install', '-y', '-qq', '--no-install-recommends', pkg]);
    }
  } catch (err) {
    console.warn(`[ensure] could not install ${pkg} (${err.message}): ${consequence} until you ${advice}`);
  }
}

/**
 * Experiments run in bubblewrap. As root on Debian/Ubuntu it is installed here; otherwise this says what
 * to install (until then the worker refuses to run experiment code, unless MLR_SANDBOX=none).
 */
function ensureSandbox() {
  if (process.env.MLR_SANDBOX === 'none') return;
  aptInstall(
    'bubblewrap',
    'bwrap',
    'experiments will be refused',
    'install bubblewrap (apt-get install bubblewrap, dnf install bubblewrap, …) or set MLR_SANDBOX=none',
  );
}

/** The console's browser test drives the system's Chromium (puppeteer-core downloads no browser). */
function ensureBrowser() {
  if (process.env.MLR_CHROMIUM) return;
  aptInstall(
    'chromium',
    'chromium',
    'the console browser test fails',
    'install Chromium (apt-get install chromium) or point MLR_CHROMIUM at a Chromium binary',
  );
}

try {
  ensureNpm();
  if (!npmOnly) ensureVenv();
  if (!npmOnly) ensureSandbox();
  if (process.argv.includes('--test')) ensureBrowser();
} catch (err) {
  console.error(`[ensure] setup failed: ${err.message}`);
  process.exit(1);
}

// From source, the workflows are bundled in a child process once per version of the sources, and kept in the
// data directory: a second start reuses the file, and bundles of older sources are removed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cachedWorkflowBundle } from '../src/workflow-bundler';

it('bundles the workflows once into the data directory, reuses the bundle, and drops stale ones', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-bundle-'));
  try {
    const stale = path.join(dataDir, 'cache', 'workflows-0123456789abcdef.js');
    fs.mkdirSync(path.dirname(stale), { recursive: true });
    fs.writeFileSync(stale, 'old');
    const file = cachedWorkflowBundle(dataDir);
    expect(path.basename(file)).toMatch(/^workflows-[0-9a-f]{16}\.js$/);
    expect(fs.readFileSync(file, 'utf8')).toContain('researchRun');
    expect(fs.existsSync(stale)).toBe(false);
    const built = fs.statSync(file).mtimeMs;
    expect(cachedWorkflowBundle(dataDir)).toBe(file);
    expect(fs.statSync(file).mtimeMs).toBe(built);
    expect(fs.readdirSync(path.dirname(file))).toEqual([path.basename(file)]);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 120_000);

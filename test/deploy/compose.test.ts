// docker-compose.yml checked by the Compose Specification's reference loader (compose-go v2, the library
// `docker compose` loads files with), built from the Go module proxy into .cache/tools.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support/paths';

const CHECK = path.join(ROOT, '.cache', 'tools', 'compose-check');
const COMPOSE = path.join(ROOT, 'docker-compose.yml');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; retries?: number };
  security_opt?: string[];
  restart?: string;
  environment?: Record<string, string | null>;
  pids_limit?: number;
  volumes?: Array<{ type: string; source: string }>;
  profiles?: string[];
  deploy?: { resources?: { reservations?: { devices?: Array<{ driver: string; capabilities: string[] }> } } };
}

let project: { services: Record<string, Service>; volumes: Record<string, unknown> };

beforeAll(() => {
  if (!fs.existsSync(CHECK)) {
    execFileSync('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', CHECK, '.'], {
      cwd: path.join(ROOT, 'scripts', 'compose-check'),
      // Go's own installer puts it in /usr/local/go, which an ordinary user's PATH often lacks.
      env: { ...process.env, PATH: `${process.env.PATH}:/usr/local/go/bin`, GOFLAGS: '-mod=mod' },
      stdio: 'ignore',
    });
  }
  const out = execFileSync(CHECK, [COMPOSE, path.join(ROOT, '.env.example')], { encoding: 'utf8' });
  project = JSON.parse(out);
}, 600_000);

it('loads with the example environment, every service present (the GPU worker under its profile)', () => {
  expect(Object.keys(project.services).sort()).toEqual(
    [
      'api',
      'postgres',
      's3',
      's3-bucket',
      'temporal',
      'temporal-namespace',
      'temporal-schema',
      'temporal-ui',
      'worker',
    ].sort(),
  );
  expect(Object.keys(project.volumes).sort()).toEqual(['objects', 'postgres', 'workspaces']);
  const gpu = spawnSync(CHECK, [COMPOSE, path.join(ROOT, '.env.example')], {
    env: { ...process.env, COMPOSE_PROFILES: 'gpu' },
    encoding: 'utf8',
  });
  const gpuWorker = (JSON.parse(gpu.stdout) as typeof project).services['worker-gpu']!;
  expect(gpuWorker.deploy!.resources!.reservations!.devices![0]).toMatchObject({
    driver: 'nvidia',
    capabilities: ['gpu'],
  });
});

it('starts each part only once what it needs is healthy, and sets Temporal up without auto-setup', () => {
  const s = project.services;
  expect(s.temporal!.image).toMatch(/^temporalio\/server:/);
  expect(s['temporal-schema']!.image).toMatch(/^temporalio\/admin-tools:/);
  expect(s.temporal!.depends_on).toEqual({
    'temporal-schema': expect.objectContaining({ condition: 'service_completed_successfully' }),
  });
  for (const name of ['api', 'worker']) {
    expect(s[name]!.depends_on).toMatchObject({
      postgres: { condition: 'service_healthy' },
      'temporal-namespace': { condition: 'service_completed_successfully' },
    });
  }
  for (const name of ['postgres', 'temporal', 'api']) expect(s[name]!.healthcheck).toBeDefined();
  expect(s.api!.command).toEqual(['dist/api/server.js']);
  expect(s.worker!.command).toEqual(['dist/worker.js']);
  expect(s.worker!.volumes!.map((v) => v.source)).toContain('workspaces');
});

it('holds no secret: every password, key and token comes from .env and is required there', () => {
  const raw = fs.readFileSync(COMPOSE, 'utf8');
  for (const line of raw.split('\n')) {
    const m = /^\s*([A-Z_]*(PASSWORD|SECRET|_KEY|TOKENS?|PWD)[A-Z_]*):\s*(.+)$/.exec(line);
    if (m) expect(m[3]).toMatch(/^\$\{[A-Z0-9_]+(:[-?][^}]*)?\}$|^postgres:\/\/mlr:\$\{/);
  }
  const missing = spawnSync(CHECK, [COMPOSE], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  expect(missing.status).toBe(1);
  expect(missing.stderr).toMatch(/set [A-Z_]+ in \.env/);
});

it('rejects a file the specification does not allow (the check is live)', () => {
  const bad = path.join(fs.mkdtempSync(path.join(ROOT, '.cache', 'tools', 'bad-')), 'compose.yml');
  fs.writeFileSync(bad, 'services:\n  api:\n    image: x\n    depends_on:\n      db:\n        condition: sometimes\n');
  const res = spawnSync(CHECK, [bad], { encoding: 'utf8' });
  expect(res.status).toBe(1);
  expect(res.stderr.length).toBeGreaterThan(0);
});

it('caps the processes of the workers, which run experiments, as a backstop under the sandbox', () => {
  const workers = Object.entries(project.services).filter(([name]) => name.startsWith('worker'));
  expect(workers.length).toBeGreaterThan(0);
  for (const [name, w] of workers) expect([name, w.pids_limit]).toEqual([name, 8192]);
});

it('gives the API tokens to the API alone: no worker, which runs experiments, holds them', () => {
  const s = project.services;
  expect(s.api!.environment!.MLR_API_TOKENS).toBeTruthy();
  for (const [name, service] of Object.entries(s))
    if (name !== 'api') expect({ name, tokens: service.environment?.MLR_API_TOKENS }).toEqual({ name });
});

it('lets bubblewrap run in the workers: user namespaces allowed and /proc mountable', () => {
  const workers = Object.entries(project.services).filter(([name]) => name.startsWith('worker'));
  for (const [, w] of workers) {
    expect(w.security_opt).toEqual(expect.arrayContaining(['seccomp=unconfined', 'systempaths=unconfined']));
    // The image's own check, which a worker (no HTTP) passes by its heartbeat.
    expect(w.healthcheck!.test).toEqual(['CMD', 'node', 'dist/healthcheck.js']);
  }
});

it('checks Postgres over TCP (never during its first initialisation), and retries the set-up jobs', () => {
  const s = project.services;
  expect(s.postgres!.healthcheck!.test.join(' ')).toMatch(/pg_isready -h 127\.0\.0\.1 .*-d mlr/);
  expect(s.postgres!.healthcheck!.retries).toBeGreaterThanOrEqual(10);
  for (const job of ['temporal-schema', 'temporal-namespace'])
    expect([job, s[job]!.restart]).toEqual([job, 'on-failure:5']);
});

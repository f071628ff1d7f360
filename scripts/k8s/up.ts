// `npm run k8s:up`: the local Kubernetes control plane (etcd, kube-apiserver, controller-manager,
// scheduler, a kwok GPU node), the stand-in kubelet that runs the runner, and an S3-compatible store, on
// 127.0.0.1, in the background; prints what to export so `npm start` runs every experiment as a Job.
// `npm run k8s:down` stops them. State lives in .data/k8s (git-ignored).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createS3Store } from '../../src/clients/s3';
import { isAlive } from '../../src/stack/processes';
import { startKubelet } from './kubelet';
import { ensureBinaries, startPlane } from './plane';

const ROOT = path.resolve(__dirname, '..', '..');
const DIR = path.resolve(process.env.MLR_K8S_DIR ?? path.join(ROOT, '.data', 'k8s'));
const PID = path.join(DIR, 'up.pid');
const ENV = path.join(DIR, 'env');
export const NAMESPACE = 'mlr-experiments';

async function serve(): Promise<void> {
  const plane = await startPlane(DIR);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(plane.kubeconfig);
  await kc
    .makeApiClient(k8s.CoreV1Api)
    .createNamespace({ body: { metadata: { name: NAMESPACE } } })
    .catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
  const { s3 } = plane;
  await createS3Store({
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: s3.bucket,
    accessKeyId: s3.accessKey,
    secretAccessKey: s3.secretKey,
    forcePathStyle: true,
  }).ensureBucket();
  const kubelet = startKubelet({
    kubeconfig: plane.kubeconfig,
    namespace: NAMESPACE,
    python: path.join(ROOT, '.venv', 'bin', 'python'),
    runner: path.join(ROOT, 'runner', 'runner.py'),
    workDir: path.join(DIR, 'kubelet'),
  });
  const env = {
    MLR_EXECUTOR: 'kubernetes',
    MLR_K8S_KUBECONFIG: plane.kubeconfig,
    MLR_K8S_NAMESPACE: NAMESPACE,
    MLR_S3_ENDPOINT: s3.endpoint,
    MLR_S3_BUCKET: s3.bucket,
    MLR_S3_REGION: s3.region,
    MLR_S3_ACCESS_KEY_ID: s3.accessKey,
    MLR_S3_SECRET_ACCESS_KEY: s3.secretKey,
    KUBECONFIG: plane.kubeconfig,
  };
  fs.writeFileSync(
    ENV,
    Object.entries(env)
      .map(([k, v]) => `export ${k}=${v}\n`)
      .join(''),
    { mode: 0o600 },
  );
  const stop = async () => {
    await kubelet.stop();
    await plane.stop();
    fs.rmSync(PID, { force: true });
    fs.rmSync(ENV, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

async function up(): Promise<void> {
  if (fs.existsSync(PID) && isAlive(Number(fs.readFileSync(PID, 'utf8')))) {
    console.log(`already running (pid ${fs.readFileSync(PID, 'utf8').trim()}); the settings:\n`);
    console.log(fs.readFileSync(ENV, 'utf8'));
    return;
  }
  ensureBinaries();
  fs.mkdirSync(DIR, { recursive: true });
  fs.rmSync(ENV, { force: true });
  const log = fs.openSync(path.join(DIR, 'up.log'), 'a');
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, 'serve'], {
    detached: true,
    stdio: ['ignore', log, log],
    cwd: ROOT,
  });
  fs.writeFileSync(PID, String(child.pid));
  child.unref();
  const deadline = Date.now() + 180_000;
  while (!fs.existsSync(ENV)) {
    if (!isAlive(child.pid!)) throw new Error(`the plane did not start: see ${path.join(DIR, 'up.log')}`);
    if (Date.now() > deadline) throw new Error('the plane did not start within 3 minutes');
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(`Kubernetes control plane, GPU node ${'kwok-gpu-0'}, kubelet stand-in and S3 store are up.`);
  console.log(`Export these, then \`npm start\` runs every experiment as a Job:\n`);
  console.log(fs.readFileSync(ENV, 'utf8'));
  console.log(`(also in ${ENV}: \`source ${path.relative(process.cwd(), ENV)}\`; stop with \`npm run k8s:down\`)`);
}

async function down(): Promise<void> {
  if (!fs.existsSync(PID)) {
    console.log('not running');
    return;
  }
  const pid = Number(fs.readFileSync(PID, 'utf8'));
  if (isAlive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  fs.rmSync(PID, { force: true });
  console.log('stopped');
}

const command = process.argv[2];
(command === 'serve' ? serve() : command === 'down' ? down() : up()).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

// A real Kubernetes control plane on 127.0.0.1 for tests and `npm run k8s:up`: etcd, kube-apiserver,
// kube-controller-manager (the real Job controller), kube-scheduler, kwok with a fake GPU node, and
// versitygw as the S3-compatible store. Binaries come from scripts/k8s/build.sh (cached, git-ignored).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { freePort, waitForPort } from '../../src/stack/processes';

export const K8S_CACHE = process.env.MLR_K8S_CACHE ?? path.resolve(__dirname, '..', '..', '.cache', 'k8s');
const BIN = path.join(K8S_CACHE, 'bin');
export const GPU_NODE = 'kwok-gpu-0';
export const NODE_GPUS = 8;

export interface Plane {
  dir: string;
  kubeconfig: string;
  server: string;
  s3: { endpoint: string; accessKey: string; secretKey: string; bucket: string; region: string };
  stop(): Promise<void>;
}

/** Builds the binaries if they are missing (minutes when cold, nothing when cached). */
export function ensureBinaries(): void {
  const script = path.resolve(__dirname, '..', '..', 'scripts', 'k8s', 'build.sh');
  execFileSync('bash', [script], { stdio: 'inherit' });
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function certificates(dir: string): void {
  if (fs.existsSync(path.join(dir, 'admin.crt'))) return;
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      '/CN=mlr-test-ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  fs.writeFileSync(
    path.join(dir, 'san.cnf'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n',
  );
  const signed = (name: string, subj: string, ext?: string) => {
    openssl(
      ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subj, '-keyout', `${name}.key`, '-out', `${name}.csr`],
      dir,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '3650',
        '-out',
        `${name}.crt`,
        ...(ext ? ['-extfile', ext] : []),
      ],
      dir,
    );
  };
  signed('apiserver', '/CN=kube-apiserver', 'san.cnf');
  signed('admin', '/O=system:masters/CN=admin');
  openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

function kubeconfig(dir: string, server: string): string {
  const b64 = (f: string) => fs.readFileSync(path.join(dir, f)).toString('base64');
  const file = path.join(dir, 'kubeconfig');
  fs.writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: local\n  cluster:\n    server: ${server}\n    certificate-authority-data: ${b64('ca.crt')}`,
      'users:',
      `- name: admin\n  user:\n    client-certificate-data: ${b64('admin.crt')}\n    client-key-data: ${b64('admin.key')}`,
      'contexts:',
      '- name: local\n  context:\n    cluster: local\n    user: admin',
      'current-context: local',
      '',
    ].join('\n'),
  );
  return file;
}

/** kwok's stages: nodes become Ready and keep a lease; pods are marked running and deleted; never completed. */
function kwokConfig(dir: string): string {
  const stages = path.join(K8S_CACHE, 'stages');
  const files = [
    'node/fast/node-initialize.yaml',
    'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
    'pod/fast/pod-ready.yaml',
    'pod/fast/pod-delete.yaml',
  ];
  // Pod logs through the API server (kubectl logs, the log route while a Job runs): kwok serves a file in
  // CRI format for our containers; the stand-in kubelet runs the real process but cannot stream its output.
  const podLog = path.join(dir, 'pod.log');
  fs.writeFileSync(podLog, `${new Date().toISOString()} stdout F [served by the kwok node for a running pod]\n`);
  const logs = [
    'apiVersion: kwok.x-k8s.io/v1alpha1',
    'kind: ClusterLogs',
    'metadata:',
    '  name: mlr-runner-logs',
    'spec:',
    '  logs:',
    '  - containers: [runner]',
    `    logsFile: ${podLog}`,
    '    follow: false',
  ].join('\n');
  const file = path.join(dir, 'kwok.yaml');
  const stagesYaml = files.map((f) => fs.readFileSync(path.join(stages, f), 'utf8').trim());
  fs.writeFileSync(file, [...stagesYaml, logs].join('\n---\n') + '\n');
  return file;
}

async function waitReady(server: string, dir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const opts = {
    ca: fs.readFileSync(path.join(dir, 'ca.crt')),
    cert: fs.readFileSync(path.join(dir, 'admin.crt')),
    key: fs.readFileSync(path.join(dir, 'admin.key')),
  };
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = https.get(`${server}/readyz`, opts, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.setTimeout(2000, () => req.destroy());
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`kube-apiserver at ${server} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts the plane in `dir` (reused across starts: certificates and etcd data stay). */
export async function startPlane(dir: string): Promise<Plane> {
  fs.mkdirSync(dir, { recursive: true });
  certificates(dir);
  const children: ChildProcess[] = [];
  const logs = path.join(dir, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  const start = (name: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const out = fs.openSync(path.join(logs, `${name}.log`), 'a');
    const child = spawn(path.join(BIN, name), args, { stdio: ['ignore', out, out], env: { ...process.env, ...env } });
    fs.closeSync(out);
    children.push(child);
    return child;
  };
  const [etcdPort, peerPort, apiPort, kwokPort, s3Port] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const etcd = `http://127.0.0.1:${etcdPort}`;
  start('etcd', [
    '--data-dir',
    path.join(dir, 'etcd'),
    '--listen-client-urls',
    etcd,
    '--advertise-client-urls',
    etcd,
    '--listen-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-cluster',
    `default=http://127.0.0.1:${peerPort}`,
    '--unsafe-no-fsync',
    '--quota-backend-bytes',
    '2147483648',
    '--log-level',
    'warn',
  ]);
  await waitForPort('127.0.0.1', etcdPort, 30_000);
  const f = (n: string) => path.join(dir, n);
  const server = `https://127.0.0.1:${apiPort}`;
  start('kube-apiserver', [
    '--bind-address',
    '127.0.0.1',
    '--advertise-address',
    '127.0.0.1',
    '--secure-port',
    String(apiPort),
    '--etcd-servers',
    etcd,
    '--tls-cert-file',
    f('apiserver.crt'),
    '--tls-private-key-file',
    f('apiserver.key'),
    '--client-ca-file',
    f('ca.crt'),
    '--service-account-issuer',
    'https://kubernetes.default.svc.cluster.local',
    '--service-account-key-file',
    f('sa.pub'),
    '--service-account-signing-key-file',
    f('sa.key'),
    '--service-cluster-ip-range',
    '10.96.0.0/16',
    '--authorization-mode',
    'Node,RBAC',
    '--kubelet-client-certificate',
    f('admin.crt'),
    '--kubelet-client-key',
    f('admin.key'),
    '--endpoint-reconciler-type',
    'none',
    '--kubelet-preferred-address-types',
    'InternalIP,Hostname',
  ]);
  await waitReady(server, dir, 60_000);
  const kc = kubeconfig(dir, server);
  start('kube-controller-manager', [
    '--kubeconfig',
    kc,
    '--authentication-kubeconfig',
    kc,
    '--authorization-kubeconfig',
    kc,
    '--bind-address',
    '127.0.0.1',
    '--secure-port',
    '0',
    '--leader-elect=false',
    '--service-account-private-key-file',
    f('sa.key'),
    '--root-ca-file',
    f('ca.crt'),
    '--controllers',
    '*,-nodeipam',
  ]);
  start('kube-scheduler', [
    '--kubeconfig',
    kc,
    '--bind-address',
    '127.0.0.1',
    '--secure-port',
    '0',
    '--leader-elect=false',
  ]);
  const config = new k8s.KubeConfig();
  config.loadFromFile(kc);
  // A node lease left by an earlier start would hold the first pod back until it expires.
  await config
    .makeApiClient(k8s.CoordinationV1Api)
    .deleteNamespacedLease({ name: GPU_NODE, namespace: 'kube-node-lease' })
    .catch(() => undefined);
  start('kwok', [
    '--kubeconfig',
    kc,
    '--config',
    kwokConfig(dir),
    '--manage-all-nodes=false',
    '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
    '--node-ip',
    '127.0.0.1',
    '--node-port',
    String(kwokPort),
    '--server-address',
    `127.0.0.1:${kwokPort}`,
    '--node-lease-duration-seconds',
    '40',
    '--tls-cert-file',
    f('apiserver.crt'),
    '--tls-private-key-file',
    f('apiserver.key'),
  ]);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const node: k8s.V1Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: GPU_NODE,
      annotations: { 'kwok.x-k8s.io/node': 'fake' },
      labels: { 'kubernetes.io/hostname': GPU_NODE, 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3', type: 'kwok' },
    },
    status: {
      capacity: {
        cpu: '32',
        memory: '256Gi',
        'ephemeral-storage': '1Ti',
        pods: '110',
        'nvidia.com/gpu': String(NODE_GPUS),
      },
      allocatable: {
        cpu: '32',
        memory: '256Gi',
        'ephemeral-storage': '1Ti',
        pods: '110',
        'nvidia.com/gpu': String(NODE_GPUS),
      },
    },
  };
  await core.createNode({ body: node }).catch((err: { code?: number }) => {
    if (err.code !== 409) throw err;
  });
  // kwok marks the node Ready, and the node lifecycle controller then lifts the not-ready taint that
  // keeps every pod off it until then.
  const deadline = Date.now() + 90_000;
  for (;;) {
    const n = await core.readNode({ name: GPU_NODE });
    const ready = n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (ready && (n.spec?.taints ?? []).length === 0) break;
    if (Date.now() > deadline) throw new Error(`node ${GPU_NODE} not ready: ${JSON.stringify(n.spec?.taints)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const s3 = {
    endpoint: `http://127.0.0.1:${s3Port}`,
    accessKey: 'mlr-test',
    secretKey: 'mlr-test-secret-key',
    bucket: 'mlr-artifacts',
    region: 'us-east-1',
  };
  fs.mkdirSync(path.join(dir, 's3'), { recursive: true });
  start('versitygw', ['--port', `127.0.0.1:${s3Port}`, '--quiet', 'posix', path.join(dir, 's3')], {
    ROOT_ACCESS_KEY: s3.accessKey,
    ROOT_SECRET_KEY: s3.secretKey,
  });
  await waitForPort('127.0.0.1', s3Port, 30_000);
  return {
    dir,
    kubeconfig: kc,
    server,
    s3,
    async stop() {
      for (const c of children.reverse()) c.kill('SIGTERM');
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              const t = setTimeout(() => {
                c.kill('SIGKILL');
                resolve();
              }, 5000);
              c.once('exit', () => {
                clearTimeout(t);
                resolve();
              });
            }),
        ),
      );
    },
  };
}

// The Kubernetes backend as the tests build it: the real control plane (k8s-plane.ts), the kubelet
// stand-in running the real runner, and versitygw as the object store.
import fs from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createJobCluster, loadKubeConfig } from '../../src/clients/kubernetes';
import { createS3Store, type S3Store } from '../../src/clients/s3';
import { createKubernetesExecutor, type KubernetesExecutorOptions } from '../../src/experiments/executor/kubernetes';
import type { JobSettings } from '../../src/experiments/executor/kubernetes/job-spec';
import { ensureBinaries, startPlane, type Plane } from '../../scripts/k8s/plane';
import { startKubelet, type Kubelet } from '../../scripts/k8s/kubelet';
import { PYTHON, TEST_INPUTS } from './experiments';
import { ROOT, TEST_DATA } from './paths';

export const NAMESPACE = 'mlr-experiments';
/** The environments volume's claim; the kubelet stand-in keeps its files under kubelet/volumes/mlr-envs. */
export const ENVS_CLAIM = 'mlr-envs';

export const TEST_JOB_SETTINGS: JobSettings = {
  namespace: NAMESPACE,
  image: 'ghcr.io/mlr-copilot/runner:test',
  gpuResource: 'nvidia.com/gpu',
  gpuTypeLabel: 'nvidia.com/gpu.product',
  nodeSelector: {},
  tolerations: [],
  ttlSecondsAfterFinished: 3600,
  deadlineMarginSeconds: 600,
  runAsUser: 1000,
  ephemeralStorageMb: 10_240,
  environments: { claim: ENVS_CLAIM, timeoutSeconds: 900 },
};

/**
 * A PersistentVolume bound to the environments claim, as an operator's ReadWriteMany storage would be: the
 * real PV controller binds them, and the real scheduler places pods that mount the claim only once it has.
 */
async function createEnvsVolume(core: k8s.CoreV1Api): Promise<void> {
  const exists = (e: { code?: number }) => {
    if (e.code !== 409) throw e;
  };
  const storageClassName = 'mlr-test-rwx';
  await core
    .createPersistentVolume({
      body: {
        metadata: { name: `${ENVS_CLAIM}-test` },
        spec: {
          capacity: { storage: '50Gi' },
          accessModes: ['ReadWriteMany'],
          storageClassName,
          persistentVolumeReclaimPolicy: 'Retain',
          hostPath: { path: '/srv/mlr-envs' },
        },
      },
    })
    .catch(exists);
  await core
    .createNamespacedPersistentVolumeClaim({
      namespace: NAMESPACE,
      body: {
        metadata: { name: ENVS_CLAIM },
        spec: {
          accessModes: ['ReadWriteMany'],
          storageClassName,
          volumeName: `${ENVS_CLAIM}-test`,
          resources: { requests: { storage: '50Gi' } },
        },
      },
    })
    .catch(exists);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const pvc = await core.readNamespacedPersistentVolumeClaim({ name: ENVS_CLAIM, namespace: NAMESPACE });
    if (pvc.status?.phase === 'Bound') return;
    if (Date.now() > deadline) throw new Error(`claim ${ENVS_CLAIM} not bound: ${pvc.status?.phase}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface K8sWorld {
  plane: Plane;
  kubelet: Kubelet;
  s3: S3Store;
  kc: k8s.KubeConfig;
  /** Pod names the kubelet must leave running. */
  held: Set<string>;
  /** Pod-name prefixes the kubelet runs without a network (as a policy-enforcing network plugin would). */
  cutOff: Set<string>;
  executor(over?: Partial<KubernetesExecutorOptions>): ReturnType<typeof createKubernetesExecutor>;
  close(): Promise<void>;
}

export async function startK8sWorld(name: string): Promise<K8sWorld> {
  ensureBinaries();
  const dir = path.join(TEST_DATA, `k8s-${name}`);
  const plane = await startPlane(dir);
  const kc = loadKubeConfig(plane.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } }).catch((e: { code?: number }) => {
    if (e.code !== 409) throw e;
  });
  await createEnvsVolume(core);
  const s3 = createS3Store({
    endpoint: plane.s3.endpoint,
    region: plane.s3.region,
    bucket: plane.s3.bucket,
    accessKeyId: plane.s3.accessKey,
    secretAccessKey: plane.s3.secretKey,
    forcePathStyle: true,
  });
  await s3.ensureBucket();
  const held = new Set<string>();
  const cutOff = new Set<string>();
  const kubelet = startKubelet({
    kubeconfig: plane.kubeconfig,
    namespace: NAMESPACE,
    python: PYTHON,
    runner: path.join(ROOT, 'runner', 'runner.py'),
    workDir: path.join(dir, 'kubelet'),
    hold: (pod) => [...held].some((prefix) => pod.startsWith(prefix)),
    noNetwork: (pod) => [...cutOff].some((prefix) => pod.startsWith(prefix)),
  });
  const scratch = path.join(dir, 'scratch');
  fs.mkdirSync(scratch, { recursive: true });
  return {
    plane,
    kubelet,
    s3,
    kc,
    held,
    cutOff,
    executor: (over = {}) =>
      createKubernetesExecutor({
        cluster: createJobCluster(kc, NAMESPACE),
        transfer: s3.transfer,
        inputs: TEST_INPUTS,
        store: s3.artifacts,
        python: PYTHON,
        settings: TEST_JOB_SETTINGS,
        scratchDir: scratch,
        pollMs: 200,
        pendingTimeoutMs: 5000,
        networkIsolated: false,
        maxReturnBytes: 256 * 1024 * 1024,
        maxLogBytes: 16 * 1024 * 1024,
        ...over,
      }),
    async close() {
      await kubelet.stop();
      await plane.stop();
    },
  };
}

/** The service's settings for running experiments as Jobs on this world's plane and store. */
export function k8sEnv(world: K8sWorld): Record<string, string> {
  const s3 = world.plane.s3;
  return {
    MLR_EXECUTOR: 'kubernetes',
    MLR_ARTIFACTS: 's3',
    MLR_K8S_KUBECONFIG: world.plane.kubeconfig,
    MLR_K8S_NAMESPACE: NAMESPACE,
    MLR_K8S_POLL_MS: '200',
    MLR_K8S_ENVS_CLAIM: ENVS_CLAIM,
    MLR_S3_ENDPOINT: s3.endpoint,
    MLR_S3_BUCKET: s3.bucket,
    MLR_S3_ACCESS_KEY_ID: s3.accessKey,
    MLR_S3_SECRET_ACCESS_KEY: s3.secretKey,
  };
}

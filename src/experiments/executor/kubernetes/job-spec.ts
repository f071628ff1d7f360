// The Kubernetes Job for one execution, built by pure functions (table-tested): a deterministic name from
// the execution key, a restricted pod, GPUs as limits, podFailurePolicy that ignores disruptions and fails
// fast on the script's own exit, and the runner as the entrypoint. Nothing here talks to a cluster.
import { createHash } from 'node:crypto';

/** Exit codes of the runner that mean "the infrastructure failed", not the script: Kubernetes may retry. */
export const INFRA_EXIT_CODES = [137, 143];
export const LABEL_MANAGED = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'mlr-copilot';
export const LABEL_RUN = 'mlr-copilot.dev/run';
export const LABEL_ROLE = 'mlr-copilot.dev/role';
export const LABEL_KEY = 'mlr-copilot.dev/key-hash';
export const ANNOTATION_KEY = 'mlr-copilot.dev/execution-key';
export const ANNOTATION_SPEC_HASH = 'mlr-copilot.dev/spec-hash';
export const QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';

export interface JobSettings {
  namespace: string;
  image: string;
  /** The extended resource GPUs are requested as (`nvidia.com/gpu`). */
  gpuResource: string;
  /** The node label a `gpuType` selects on (`nvidia.com/gpu.product`). */
  gpuTypeLabel: string;
  nodeSelector: Record<string, string>;
  tolerations: Array<{ key?: string; operator?: string; value?: string; effect?: string }>;
  runtimeClassName?: string;
  priorityClassName?: string;
  /** Kueue LocalQueue: the Job is created suspended with the queue label, and Kueue admits it. */
  queue?: string;
  ttlSecondsAfterFinished: number;
  /** The Job's deadline beyond the script's own limit: room to fetch code and upload results. */
  deadlineMarginSeconds: number;
  /** Numeric uid and gid the pod runs as (non-root). */
  runAsUser: number;
  /** Size of the workspace and scratch emptyDirs. */
  ephemeralStorageMb: number;
  /** Tasks' own environments: built by a Job into this volume, mounted read-only by experiments (env-spec.ts). */
  environments?: EnvironmentSettings;
  /**
   * Experiment pods resolve only these names (the object store's), and have no resolver: a script could
   * otherwise leak data through DNS queries the cluster's resolver forwards outside. Unset: cluster DNS.
   */
  pinnedHosts?: HostAlias[];
}

export interface HostAlias {
  ip: string;
  hostnames: string[];
}

export interface EnvironmentSettings {
  /** A ReadWriteMany PersistentVolumeClaim in the experiments namespace holding one venv per requirements hash. */
  claim: string;
  /** The build Job's deadline. */
  timeoutSeconds: number;
  /** The package index the build uses (UV_DEFAULT_INDEX); unset: PyPI. */
  indexUrl?: string;
}

/** Where experiment and build pods mount the environments volume. */
export const ENVS_MOUNT = '/envs';

export interface JobInput {
  key: string;
  runId: string;
  role: string;
  script: string;
  seed: number;
  timeoutMs: number;
  resources: { cpu?: number; memoryMb: number; gpus: number; gpuType?: string };
  /** Name of the per-execution Secret holding the presigned URLs (created beside the Job). */
  secretName: string;
  /** The task's own environment (its name on the environments volume), built before the Job is created. */
  environment?: string;
}

/** DNS-1123, ≤ 63 characters, the same for every retry of one logical execution. */
export function jobName(key: string): string {
  return `mlr-exec-${createHash('sha256').update(key).digest('hex').slice(0, 20)}`;
}

export const keyHash = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 40);

/** Stable JSON (sorted keys) hashed: two specs built from the same input have the same hash. */
export function specHash(value: unknown): string {
  const stable = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(stable)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v as object)
              .sort()
              .map((k) => [k, stable((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(stable(value)))
    .digest('hex')
    .slice(0, 32);
}

const label = (v: string) =>
  v
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');

/** The Job (batch/v1) for one execution; its spec-hash annotation lets a retry recognise its own Job. */
export interface BuiltJob {
  apiVersion: 'batch/v1';
  kind: 'Job';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: Record<string, unknown>;
}

/** The pod-level security every pod of ours runs with: non-root, its own group, RuntimeDefault seccomp. */
export const podSecurity = (s: JobSettings) => ({
  runAsNonRoot: true,
  runAsUser: s.runAsUser,
  runAsGroup: s.runAsUser,
  fsGroup: s.runAsUser,
  seccompProfile: { type: 'RuntimeDefault' },
});

export const containerSecurity = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

/** What every pod of ours is, whatever it runs: one try, no API token, no service links, 30 s to stop. */
export const podBasics = {
  restartPolicy: 'Never',
  automountServiceAccountToken: false,
  enableServiceLinks: false,
  terminationGracePeriodSeconds: 30,
} as const;

/**
 * The pod's name resolution: with pinned hosts, /etc/hosts holds them and the only nameserver is the pod's
 * own loopback, where nothing answers, so every other lookup fails at once; else the cluster's DNS.
 */
export const podDns = (s: Pick<JobSettings, 'pinnedHosts'>) =>
  s.pinnedHosts
    ? {
        dnsPolicy: 'None',
        dnsConfig: { nameservers: ['127.0.0.1'], searches: [], options: [{ name: 'ndots', value: '1' }] },
        ...(s.pinnedHosts.length ? { hostAliases: s.pinnedHosts } : {}),
      }
    : {};

/** Ignore node disruptions (Kubernetes makes a new pod); fail at once on any other exit of `container`. */
export const failurePolicy = (container: string) => ({
  rules: [
    { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
    { action: 'FailJob', onExitCodes: { containerName: container, operator: 'NotIn', values: INFRA_EXIT_CODES } },
  ],
});

/**
 * How long an execution's presigned URLs live: its Job's whole deadline (timeout + margin) and two margins more.
 * While Kueue holds the Job suspended the worker re-issues them every `reissueEveryMs`, so whenever the Job is
 * admitted they still cover its deadline, however long it queued. (SigV4 caps a URL at 7 days.)
 */
export const transferTtlSeconds = (timeoutMs: number, s: Pick<JobSettings, 'deadlineMarginSeconds'>): number =>
  Math.min(7 * 86_400, Math.ceil(timeoutMs / 1000) + 3 * s.deadlineMarginSeconds);
export const reissueEveryMs = (s: Pick<JobSettings, 'deadlineMarginSeconds'>): number => s.deadlineMarginSeconds * 1000;

export function buildJob(input: JobInput, s: JobSettings): BuiltJob {
  if (input.environment && !s.environments)
    throw new Error('a task environment needs the environments volume (MLR_K8S_ENVS_CLAIM)');
  const name = jobName(input.key);
  const cpu = input.resources.cpu ?? 1;
  const memory = `${input.resources.memoryMb}Mi`;
  const storage = `${s.ephemeralStorageMb}Mi`;
  const limits: Record<string, string> = { cpu: String(cpu), memory, 'ephemeral-storage': storage };
  if (input.resources.gpus > 0) limits[s.gpuResource] = String(input.resources.gpus);
  const requests: Record<string, string> = { cpu: String(cpu), memory, 'ephemeral-storage': storage };
  const nodeSelector = { ...s.nodeSelector };
  if (input.resources.gpuType) nodeSelector[s.gpuTypeLabel] = input.resources.gpuType;
  const tolerations = [...s.tolerations];
  if (input.resources.gpus > 0 && !tolerations.some((t) => t.key === s.gpuResource))
    tolerations.push({ key: s.gpuResource, operator: 'Exists', effect: 'NoSchedule' });
  const labels: Record<string, string> = {
    [LABEL_MANAGED]: MANAGED_BY,
    'app.kubernetes.io/component': 'experiment',
    [LABEL_RUN]: label(input.runId),
    [LABEL_ROLE]: label(input.role),
    [LABEL_KEY]: keyHash(input.key),
  };
  if (s.queue) labels[QUEUE_LABEL] = s.queue;
  const cacheDirs = { HOME: '/scratch/home', XDG_CACHE_HOME: '/scratch/cache', HF_HOME: '/scratch/cache/hf' };
  const env = [
    ...Object.entries({
      ...cacheDirs,
      TORCH_HOME: '/scratch/cache/torch',
      TRITON_CACHE_DIR: '/scratch/cache/triton',
      MPLCONFIGDIR: '/scratch/cache/mpl',
      TMPDIR: '/tmp',
      MLR_SEED: String(input.seed),
      PYTHONHASHSEED: String(input.seed),
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      MLR_SCRIPT: input.script,
      MLR_WORKSPACE: '/workspace',
      MLR_TIMEOUT_S: String(Math.ceil(input.timeoutMs / 1000)),
      ...(input.environment ? { MLR_PYTHON: `${ENVS_MOUNT}/${input.environment}/bin/python` } : {}),
      // A pod that asked for no GPU may still land on a GPU node, where the NVIDIA runtime would hand it
      // every device unless told otherwise; one that asked gets what the device plugin allots it.
      ...(input.resources.gpus === 0 ? { NVIDIA_VISIBLE_DEVICES: 'void' } : {}),
    }).map(([n, value]) => ({ name: n, value })),
    // The presigned URLs: in a Secret owned by the Job, never in the Job's own spec.
    ...['MLR_INPUT_URL', 'MLR_OUTPUT_URL', 'MLR_LOG_URL'].map((n) => ({
      name: n,
      valueFrom: { secretKeyRef: { name: input.secretName, key: n } },
    })),
  ];
  const spec = {
    backoffLimit: 0,
    podReplacementPolicy: 'Failed',
    // The script's own limit is the runner's; the Job's deadline is a backstop with room for transfers.
    activeDeadlineSeconds: Math.ceil(input.timeoutMs / 1000) + s.deadlineMarginSeconds,
    ttlSecondsAfterFinished: s.ttlSecondsAfterFinished,
    ...(s.queue ? { suspend: true } : {}),
    podFailurePolicy: failurePolicy('runner'),
    template: {
      metadata: { labels },
      spec: {
        ...podBasics,
        ...podDns(s),
        ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
        ...(tolerations.length ? { tolerations } : {}),
        ...(s.runtimeClassName ? { runtimeClassName: s.runtimeClassName } : {}),
        ...(s.priorityClassName ? { priorityClassName: s.priorityClassName } : {}),
        securityContext: podSecurity(s),
        containers: [
          {
            name: 'runner',
            image: s.image,
            imagePullPolicy: 'IfNotPresent',
            command: ['python3', '/opt/mlr/runner.py'],
            env,
            resources: { requests, limits },
            terminationMessagePolicy: 'FallbackToLogsOnError',
            securityContext: containerSecurity,
            volumeMounts: [
              { name: 'workspace', mountPath: '/workspace' },
              { name: 'scratch', mountPath: '/scratch' },
              { name: 'tmp', mountPath: '/tmp' },
              { name: 'shm', mountPath: '/dev/shm' },
              // The experiment reads its environment and cannot change it (nor anyone else's).
              ...(input.environment ? [{ name: 'envs', mountPath: ENVS_MOUNT, readOnly: true }] : []),
            ],
          },
        ],
        volumes: [
          { name: 'workspace', emptyDir: { sizeLimit: storage } },
          { name: 'scratch', emptyDir: { sizeLimit: storage } },
          { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
          // DataLoader workers need more than the default 64 MiB; it counts toward the memory limit.
          {
            name: 'shm',
            emptyDir: { medium: 'Memory', sizeLimit: `${Math.max(64, Math.floor(input.resources.memoryMb / 2))}Mi` },
          },
          ...(input.environment && s.environments
            ? [{ name: 'envs', persistentVolumeClaim: { claimName: s.environments.claim, readOnly: true } }]
            : []),
        ],
      },
    },
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: s.namespace,
      labels,
      annotations: { [ANNOTATION_KEY]: input.key.slice(0, 1024), [ANNOTATION_SPEC_HASH]: specHash(spec) },
    },
    spec,
  };
}

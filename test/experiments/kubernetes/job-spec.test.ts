// The Job built for one execution: pure, so every field a cluster relies on is pinned here.
import {
  buildJob,
  jobName,
  reissueEveryMs,
  specHash,
  transferTtlSeconds,
  type JobInput,
  type JobSettings,
} from '../../../src/experiments/executor/kubernetes/job-spec';

const settings: JobSettings = {
  namespace: 'mlr-experiments',
  image: 'registry.example/mlr-runner:1.0',
  gpuResource: 'nvidia.com/gpu',
  gpuTypeLabel: 'nvidia.com/gpu.product',
  nodeSelector: { pool: 'gpu' },
  tolerations: [],
  ttlSecondsAfterFinished: 86_400,
  deadlineMarginSeconds: 600,
  runAsUser: 1000,
  ephemeralStorageMb: 20_480,
};
const input: JobInput = {
  key: 'run-1:candidate:0',
  runId: 'run-1',
  role: 'measured',
  script: 'train.py',
  seed: 3,
  timeoutMs: 600_000,
  resources: { memoryMb: 4096, gpus: 0 },
  secretName: 'mlr-exec-abc',
};

type Pod = {
  restartPolicy: string;
  automountServiceAccountToken: boolean;
  enableServiceLinks: boolean;
  nodeSelector?: Record<string, string>;
  tolerations?: Array<Record<string, string>>;
  runtimeClassName?: string;
  priorityClassName?: string;
  securityContext: Record<string, unknown>;
  containers: Array<{
    env: Array<{ name: string; value?: string; valueFrom?: unknown }>;
    resources: { requests: Record<string, string>; limits: Record<string, string> };
    securityContext: Record<string, unknown>;
  }>;
  volumes: Array<{ name: string; emptyDir: { medium?: string; sizeLimit: string } }>;
};
const podOf = (job: ReturnType<typeof buildJob>) => (job.spec.template as { spec: Pod }).spec;

describe('jobName', () => {
  it.each([['run-1:candidate:0'], ['baseline:breast-cancer:' + 'f'.repeat(64) + ':0'], ['x'.repeat(5000)]])(
    'is DNS-1123, at most 63 characters and the same for every retry of %#',
    (key) => {
      expect(jobName(key)).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(jobName(key).length).toBeLessThanOrEqual(63);
      expect(jobName(key)).toBe(jobName(key));
    },
  );

  it('differs between executions', () => {
    expect(jobName('run-1:candidate:0')).not.toBe(jobName('run-1:candidate:1'));
  });
});

describe('buildJob', () => {
  it('never lets Kubernetes retry the script, and keeps a deadline and a TTL', () => {
    const job = buildJob(input, settings);
    expect(job.spec).toMatchObject({
      backoffLimit: 0,
      podReplacementPolicy: 'Failed',
      ttlSecondsAfterFinished: 86_400,
      podFailurePolicy: {
        rules: [
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
          { action: 'FailJob', onExitCodes: { containerName: 'runner', operator: 'NotIn', values: [137, 143] } },
        ],
      },
    });
    expect(job.spec.activeDeadlineSeconds).toBeGreaterThan(600);
    expect(podOf(job).restartPolicy).toBe('Never');
  });

  it.each([
    ['CPU only: no GPU limit, no GPU toleration', { memoryMb: 4096, gpus: 0 }, undefined, undefined],
    ['two GPUs: a limit and a toleration', { memoryMb: 8192, gpus: 2 }, '2', undefined],
    [
      'a GPU model: selected by its node label',
      { memoryMb: 8192, gpus: 1, gpuType: 'NVIDIA-H100' },
      '1',
      'NVIDIA-H100',
    ],
  ])('%s', (_name, resources, gpuLimit, product) => {
    const pod = podOf(buildJob({ ...input, resources }, settings));
    const { requests, limits } = pod.containers[0]!.resources;
    expect(limits['nvidia.com/gpu']).toBe(gpuLimit);
    expect(requests['nvidia.com/gpu']).toBeUndefined();
    expect(requests.memory).toBe(`${resources.memoryMb}Mi`);
    expect(limits.memory).toBe(requests.memory);
    expect(limits.cpu).toBe(requests.cpu);
    expect(pod.nodeSelector).toEqual({ pool: 'gpu', ...(product ? { 'nvidia.com/gpu.product': product } : {}) });
    const gpuToleration = (pod.tolerations ?? []).some((t) => t.key === 'nvidia.com/gpu');
    expect(gpuToleration).toBe(gpuLimit !== undefined);
  });

  it('runs restricted: non-root, no escalation, no capabilities, RuntimeDefault seccomp, read-only root, no token', () => {
    const pod = podOf(buildJob(input, settings));
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0]!.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const shm = pod.volumes.find((v) => v.name === 'shm')!;
    expect(shm.emptyDir).toEqual({ medium: 'Memory', sizeLimit: '2048Mi' });
  });

  it.each([
    ['the cluster DNS when no hosts are pinned', undefined, {}],
    [
      'no resolver but its own loopback, with the object store pinned in /etc/hosts',
      [{ ip: '10.96.0.12', hostnames: ['object-store.mlr.svc'] }],
      {
        dnsPolicy: 'None',
        dnsConfig: { nameservers: ['127.0.0.1'], searches: [], options: [{ name: 'ndots', value: '1' }] },
        hostAliases: [{ ip: '10.96.0.12', hostnames: ['object-store.mlr.svc'] }],
      },
    ],
    [
      'no resolver at all when the object store is named by address',
      [],
      {
        dnsPolicy: 'None',
        dnsConfig: { nameservers: ['127.0.0.1'], searches: [], options: [{ name: 'ndots', value: '1' }] },
      },
    ],
  ])('resolves names with %s', (_, pinnedHosts, expected) => {
    const pod = podOf(buildJob(input, { ...settings, ...(pinnedHosts ? { pinnedHosts } : {}) })) as Pod &
      Record<string, unknown>;
    const dns = Object.fromEntries(
      ['dnsPolicy', 'dnsConfig', 'hostAliases'].filter((k) => k in pod).map((k) => [k, pod[k]]),
    );
    expect(dns).toEqual(expected);
  });

  it('puts no secret in the spec: the presigned URLs come from the Secret', () => {
    const env = podOf(buildJob(input, settings)).containers[0]!.env;
    for (const n of ['MLR_INPUT_URL', 'MLR_OUTPUT_URL', 'MLR_LOG_URL']) {
      expect(env.find((e) => e.name === n)).toEqual({
        name: n,
        valueFrom: { secretKeyRef: { name: 'mlr-exec-abc', key: n } },
      });
    }
    expect(JSON.stringify(env)).not.toMatch(/https?:\/\//);
    expect(env.find((e) => e.name === 'MLR_SEED')?.value).toBe('3');
  });

  it.each([
    [0, 'void'],
    [1, undefined],
    [4, undefined],
  ])('with %i GPUs asked, sets NVIDIA_VISIBLE_DEVICES to %s (no GPU node device leaks to a CPU pod)', (gpus, value) => {
    const env = podOf(buildJob({ ...input, resources: { ...input.resources, gpus } }, settings)).containers[0]!.env;
    expect(env.find((e) => e.name === 'NVIDIA_VISIBLE_DEVICES')?.value).toBe(value);
  });

  it.each([
    ['no queue: created running, no queue label', undefined, undefined, undefined],
    ['a Kueue LocalQueue: created suspended with the queue label', 'team-gpu', true, 'team-gpu'],
  ])('%s', (_name, queue, suspend, labelValue) => {
    const job = buildJob(input, { ...settings, queue });
    expect(job.spec.suspend).toBe(suspend);
    expect(job.metadata.labels['kueue.x-k8s.io/queue-name']).toBe(labelValue);
  });

  it('labels run, role and key, and carries the key and a spec hash that changes with the spec', () => {
    const job = buildJob(input, { ...settings, runtimeClassName: 'nvidia', priorityClassName: 'research' });
    expect(job.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'mlr-copilot',
      'mlr-copilot.dev/run': 'run-1',
      'mlr-copilot.dev/role': 'measured',
    });
    expect(job.metadata.annotations['mlr-copilot.dev/execution-key']).toBe('run-1:candidate:0');
    expect(podOf(job).runtimeClassName).toBe('nvidia');
    expect(podOf(job).priorityClassName).toBe('research');
    expect(buildJob(input, settings).metadata.annotations['mlr-copilot.dev/spec-hash']).toBe(
      buildJob({ ...input }, settings).metadata.annotations['mlr-copilot.dev/spec-hash'],
    );
    expect(buildJob(input, settings).metadata.annotations['mlr-copilot.dev/spec-hash']).not.toBe(
      buildJob({ ...input, seed: 4 }, settings).metadata.annotations['mlr-copilot.dev/spec-hash'],
    );
  });

  it('hashes specs independently of key order', () => {
    expect(specHash({ a: 1, b: { c: 2, d: [1, 2] } })).toBe(specHash({ b: { d: [1, 2], c: 2 }, a: 1 }));
  });
});

describe('the lifetime of presigned URLs', () => {
  it.each([
    [600_000, 600, 600 + 3 * 600],
    [3_600_000, 60, 3600 + 180],
    [30 * 86_400_000, 600, 7 * 86_400], // SigV4 allows 7 days at most
  ])('covers a %i ms Job with margin %i s for %i s', (timeoutMs, margin, ttl) => {
    expect(transferTtlSeconds(timeoutMs, { deadlineMarginSeconds: margin })).toBe(ttl);
  });

  it('is re-issued often enough that, whenever a queued Job is admitted, its whole deadline is covered', () => {
    for (const [timeoutMs, margin, pollMs] of [
      [600_000, 600, 2000],
      [60_000, 1, 100],
    ]) {
      const s = { deadlineMarginSeconds: margin! };
      const deadlineS = Math.ceil(timeoutMs! / 1000) + margin!;
      // Worst case: admitted just before the next re-issue, one poll late.
      const left = transferTtlSeconds(timeoutMs!, s) - (reissueEveryMs(s) + pollMs!) / 1000;
      expect(left).toBeGreaterThanOrEqual(deadlineS);
    }
  });
});

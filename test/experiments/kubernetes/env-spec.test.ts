// The Job that builds a task's environment, and how an experiment Job mounts it: pure, pinned here.
import { buildEnvJob, envJobName, envName } from '../../../src/experiments/executor/kubernetes/env-spec';
import { buildJob, LABEL_RUN, type JobSettings } from '../../../src/experiments/executor/kubernetes/job-spec';

const settings: JobSettings = {
  namespace: 'mlr-experiments',
  image: 'registry.example/mlr-runner:1.0',
  gpuResource: 'nvidia.com/gpu',
  gpuTypeLabel: 'nvidia.com/gpu.product',
  nodeSelector: { pool: 'gpu' },
  tolerations: [{ key: 'dedicated', operator: 'Exists' }],
  ttlSecondsAfterFinished: 86_400,
  deadlineMarginSeconds: 600,
  runAsUser: 1000,
  ephemeralStorageMb: 20_480,
  environments: { claim: 'mlr-envs', timeoutSeconds: 3600 },
};
const requirements = 'torch==2.9.1\nnumpy==2.4.6\n';

type Container = {
  name: string;
  command: string[];
  env: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  securityContext: Record<string, unknown>;
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
};
type Pod = {
  automountServiceAccountToken: boolean;
  nodeSelector?: Record<string, string>;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string; readOnly?: boolean } }>;
};
const podOf = (job: { spec: Record<string, unknown> }) => (job.spec.template as { spec: Pod }).spec;
const envOf = (c: Container) => Object.fromEntries(c.env.map((e) => [e.name, e.value]));

describe('envName', () => {
  it.each([
    ['the same requirements and image', requirements, settings.image, true],
    ['other requirements', 'torch==2.9.0\n', settings.image, false],
    ['another runner image (another interpreter)', requirements, 'registry.example/mlr-runner:1.1', false],
  ])('is the same only for the same requirements and image: %s', (_what, req, image, same) => {
    expect(envName(req, image) === envName(requirements, settings.image)).toBe(same);
    expect(envName(req, image)).toMatch(/^[0-9a-f]{16}$/);
    expect(envJobName(envName(req, image))).toMatch(/^mlr-env-[0-9a-f]{16}$/);
  });
});

describe('buildEnvJob', () => {
  const name = envName(requirements, settings.image);
  const job = buildEnvJob({ name, requirements, taskId: 'digits-torch-mlp' }, settings);
  const pod = podOf(job);
  const c = pod.containers[0]!;

  it('installs the requirements into the volume under the name, with a shared download cache', () => {
    expect(job.metadata.name).toBe(envJobName(name));
    expect(c.command).toEqual(['python3', '/opt/mlr/build_env.py']);
    expect(envOf(c)).toMatchObject({
      MLR_ENVS_DIR: '/envs',
      MLR_ENV_NAME: name,
      MLR_ENV_REQUIREMENTS: requirements,
      UV_CACHE_DIR: '/envs/.uv-cache',
      UV_PYTHON_DOWNLOADS: 'never',
    });
    expect(c.volumeMounts).toContainEqual({ name: 'envs', mountPath: '/envs' });
    expect(pod.volumes).toContainEqual({ name: 'envs', persistentVolumeClaim: { claimName: 'mlr-envs' } });
  });

  it('belongs to no run (the reaper leaves it to its TTL) and is labelled for its NetworkPolicy', () => {
    expect(job.metadata.labels[LABEL_RUN]).toBeUndefined();
    expect(job.metadata.labels['app.kubernetes.io/component']).toBe('environment');
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 3600, ttlSecondsAfterFinished: 86_400 });
  });

  it('runs restricted on the experiments nodes, with no Secret, no token and no workspace', () => {
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.nodeSelector).toEqual({ pool: 'gpu' });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(c.env.filter((e) => e.valueFrom)).toEqual([]);
    expect(c.volumeMounts.map((m) => m.mountPath)).not.toContain('/workspace');
  });

  it.each([
    ['PyPI', undefined, undefined],
    ['a mirror', 'https://pypi.mirror.example/simple', 'https://pypi.mirror.example/simple'],
  ])('installs from %s', (_what, indexUrl, expected) => {
    const s = { ...settings, environments: { ...settings.environments!, ...(indexUrl ? { indexUrl } : {}) } };
    const built = podOf(buildEnvJob({ name, requirements, taskId: 't' }, s)).containers[0]!;
    expect(envOf(built).UV_DEFAULT_INDEX).toBe(expected);
  });

  it('is refused without an environments volume', () => {
    const { environments: _none, ...bare } = settings;
    expect(() => buildEnvJob({ name, requirements, taskId: 't' }, bare)).toThrow(/MLR_K8S_ENVS_CLAIM/);
  });
});

describe('an experiment Job with an environment', () => {
  const input = {
    key: 'run-1:candidate:0',
    runId: 'run-1',
    role: 'measured',
    script: 'train.py',
    seed: 0,
    timeoutMs: 60_000,
    resources: { memoryMb: 4096, gpus: 1 },
    secretName: 'mlr-exec-abc',
  };

  it.each([
    ['without one', undefined],
    ['with one', 'abcdef0123456789'],
  ])('runs the image interpreter %s, or the environment read-only from the volume', (_what, environment) => {
    const pod = podOf(buildJob({ ...input, ...(environment ? { environment } : {}) }, settings));
    const c = pod.containers[0]!;
    expect(envOf(c).MLR_PYTHON).toBe(environment ? `/envs/${environment}/bin/python` : undefined);
    const mount = c.volumeMounts.find((m) => m.name === 'envs');
    const volume = pod.volumes.find((v) => v.name === 'envs');
    if (environment) {
      expect(mount).toEqual({ name: 'envs', mountPath: '/envs', readOnly: true });
      expect(volume).toEqual({ name: 'envs', persistentVolumeClaim: { claimName: 'mlr-envs', readOnly: true } });
    } else {
      expect([mount, volume]).toEqual([undefined, undefined]);
    }
  });

  it('is refused with an environment but no volume', () => {
    const { environments: _none, ...bare } = settings;
    expect(() => buildJob({ ...input, environment: 'abcdef0123456789' }, bare)).toThrow(/MLR_K8S_ENVS_CLAIM/);
  });
});

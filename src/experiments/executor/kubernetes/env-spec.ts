// The Job that builds a task's own environment on the cluster, by pure functions (table-tested). One Job per
// environment name — the hash of the requirements and the runner image, since a venv only works with the
// interpreter it was made from — installs the requirements with uv (wheels only) into the shared volume; the
// experiment Jobs of that task then mount the volume read-only and run `<env>/bin/python`. The build pod is
// the only pod of ours that reaches the package index (its own NetworkPolicy, k8s/), and it gets no
// workspace, no Secret and no code of any run.
import { createHash } from 'node:crypto';
import {
  containerSecurity,
  ENVS_MOUNT,
  failurePolicy,
  LABEL_MANAGED,
  MANAGED_BY,
  podBasics,
  podSecurity,
  specHash,
  ANNOTATION_SPEC_HASH,
  type BuiltJob,
  type JobSettings,
} from './job-spec';

export const LABEL_ENVIRONMENT = 'mlr-copilot.dev/environment';
/** The component label the build pods' NetworkPolicy selects on. */
export const ENV_COMPONENT = 'environment';

/** The environment's name on the volume: requirements and image hashed (16 hex characters). */
export function envName(requirements: string, image: string): string {
  return createHash('sha256').update(requirements).update('\0').update(image).digest('hex').slice(0, 16);
}

export const envJobName = (name: string) => `mlr-env-${name}`;

/** The Job that makes `<volume>/<name>` (a no-op when it is there already). */
export function buildEnvJob(input: { name: string; requirements: string; taskId: string }, s: JobSettings): BuiltJob {
  const e = s.environments;
  if (!e) throw new Error('building environments needs the environments volume (MLR_K8S_ENVS_CLAIM)');
  const storage = `${s.ephemeralStorageMb}Mi`;
  const resources = { cpu: '1', memory: '4096Mi', 'ephemeral-storage': storage };
  const labels: Record<string, string> = {
    [LABEL_MANAGED]: MANAGED_BY,
    'app.kubernetes.io/component': ENV_COMPONENT,
    [LABEL_ENVIRONMENT]: input.name,
  };
  const env = Object.entries({
    HOME: '/scratch/home',
    XDG_CACHE_HOME: '/scratch/cache',
    TMPDIR: '/tmp',
    MLR_ENVS_DIR: ENVS_MOUNT,
    MLR_ENV_NAME: input.name,
    MLR_ENV_REQUIREMENTS: input.requirements,
    // Downloads are shared by every build on the volume: a second environment with torch reuses the wheels.
    UV_CACHE_DIR: `${ENVS_MOUNT}/.uv-cache`,
    UV_PYTHON_DOWNLOADS: 'never',
    UV_NO_CONFIG: '1',
    // The image's certificate store, which the operator controls (a proxy's CA goes into the image).
    UV_SYSTEM_CERTS: 'true',
    ...(e.indexUrl ? { UV_DEFAULT_INDEX: e.indexUrl } : {}),
  }).map(([name, value]) => ({ name, value }));
  const spec = {
    backoffLimit: 0,
    podReplacementPolicy: 'Failed',
    activeDeadlineSeconds: e.timeoutSeconds,
    ttlSecondsAfterFinished: s.ttlSecondsAfterFinished,
    podFailurePolicy: failurePolicy('builder'),
    template: {
      metadata: { labels },
      spec: {
        ...podBasics,
        // The venv must be made by the image experiments run: the same nodes (architecture, runtime class).
        ...(Object.keys(s.nodeSelector).length ? { nodeSelector: s.nodeSelector } : {}),
        ...(s.tolerations.length ? { tolerations: s.tolerations } : {}),
        ...(s.runtimeClassName ? { runtimeClassName: s.runtimeClassName } : {}),
        securityContext: podSecurity(s),
        containers: [
          {
            name: 'builder',
            image: s.image,
            imagePullPolicy: 'IfNotPresent',
            command: ['python3', '/opt/mlr/build_env.py'],
            env,
            resources: { requests: resources, limits: resources },
            terminationMessagePolicy: 'FallbackToLogsOnError',
            securityContext: containerSecurity,
            volumeMounts: [
              { name: 'envs', mountPath: ENVS_MOUNT },
              { name: 'scratch', mountPath: '/scratch' },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
        ],
        volumes: [
          { name: 'envs', persistentVolumeClaim: { claimName: e.claim } },
          { name: 'scratch', emptyDir: { sizeLimit: storage } },
          { name: 'tmp', emptyDir: { sizeLimit: storage } },
        ],
      },
    },
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: envJobName(input.name),
      namespace: s.namespace,
      labels,
      annotations: { 'mlr-copilot.dev/task': input.taskId.slice(0, 200), [ANNOTATION_SPEC_HASH]: specHash(spec) },
    },
    spec,
  };
}

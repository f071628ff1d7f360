// The network canary's pod and verdict: pure, so what it proves is pinned here (the run on a cluster is in
// kubernetes.test.ts).
import {
  apiServerTarget,
  canaryJob,
  canaryVerdict,
  pinHosts,
} from '../../../src/experiments/executor/kubernetes/canary';
import { buildJob, type JobSettings } from '../../../src/experiments/executor/kubernetes/job-spec';
import { jobInput } from '../../support/job-input';

const settings: JobSettings = {
  namespace: 'mlr-experiments',
  image: 'registry.example/mlr-runner:1.0',
  gpuResource: 'nvidia.com/gpu',
  gpuTypeLabel: 'nvidia.com/gpu.product',
  nodeSelector: { pool: 'gpu' },
  tolerations: [{ key: 'dedicated', operator: 'Exists' }],
  runtimeClassName: 'gvisor',
  ttlSecondsAfterFinished: 86_400,
  deadlineMarginSeconds: 600,
  runAsUser: 1000,
  ephemeralStorageMb: 20_480,
  pinnedHosts: [{ ip: '10.96.0.12', hostnames: ['object-store.mlr.svc'] }],
};

type PodSpec = Record<string, unknown> & { containers: Array<Record<string, unknown>> };
const podSpec = (job: { spec: Record<string, unknown> }) => (job.spec.template as { spec: PodSpec }).spec;

describe('canaryJob', () => {
  it('runs where and as experiment pods run: their security, DNS, placement, runtime and image', () => {
    const canary = podSpec(canaryJob(settings, ['1.1.1.1:443'], 'abc'));
    const experiment = podSpec(buildJob(jobInput(0), settings));
    for (const k of [
      'securityContext',
      'dnsPolicy',
      'dnsConfig',
      'hostAliases',
      'nodeSelector',
      'tolerations',
      'runtimeClassName',
      'automountServiceAccountToken',
      'enableServiceLinks',
    ])
      expect([k, canary[k]]).toEqual([k, experiment[k]]);
    expect(canary.containers[0]!.image).toBe(experiment.containers[0]!.image);
    expect(canary.containers[0]!.securityContext).toEqual(experiment.containers[0]!.securityContext);
    expect(canary.containers[0]!.command).toEqual(['python3', '/opt/mlr/canary.py']);
    expect(canary.containers[0]!.env).toEqual([{ name: 'MLR_PROBE_TARGETS', value: '1.1.1.1:443' }]);
  });

  it('is named apart from executions, labelled as ours, and gone soon after it ends', () => {
    const job = canaryJob(settings, [], 'abc');
    expect(job.metadata.name).toBe('mlr-canary-abc');
    expect(job.metadata.labels).toEqual({
      'app.kubernetes.io/managed-by': 'mlr-copilot',
      'app.kubernetes.io/component': 'canary',
    });
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 300, ttlSecondsAfterFinished: 300 });
  });
});

describe('canaryVerdict', () => {
  it.each([
    ['nothing reached', '{"reached": [], "refused": ["1.1.1.1:443"]}', 0, { isolated: true, reached: [] }],
    [
      'a target reached',
      '{"reached": ["10.0.0.1:443"], "refused": []}',
      3,
      { isolated: false, reached: ['10.0.0.1:443'] },
    ],
    ['a clean exit with no message', undefined, 0, { isolated: false, reached: ['(canary said nothing)'] }],
    ['a crash', 'Traceback …', 1, { isolated: false, reached: ['(canary exit 1)'] }],
    ['a message that contradicts its exit', '{"reached": []}', 3, { isolated: false, reached: [] }],
    ['entries that are not strings', '{"reached": [1, "a:1"]}', 3, { isolated: false, reached: ['a:1'] }],
  ])('reads %s', (_, message, code, expected) => {
    expect(canaryVerdict(message, code)).toEqual(expected);
  });
});

describe('apiServerTarget and pinHosts', () => {
  it('takes the API server from its URL, with the scheme’s port when it names none', () => {
    expect(apiServerTarget('https://10.0.0.1:6443')).toBe('10.0.0.1:6443');
    expect(apiServerTarget('https://api.cluster.example')).toBe('api.cluster.example:443');
  });

  it('pins each named host to every address it has, and leaves addresses alone', async () => {
    const lookup = async (host: string) =>
      host === 'object-store.mlr.svc' ? [{ address: '10.96.0.12' }, { address: 'fd00::12' }] : [];
    await expect(
      pinHosts(['http://object-store.mlr.svc:7070/b/k?X-Amz-Signature=x', 'http://10.0.0.9:9000/b'], lookup),
    ).resolves.toEqual([
      { ip: '10.96.0.12', hostnames: ['object-store.mlr.svc'] },
      { ip: 'fd00::12', hostnames: ['object-store.mlr.svc'] },
    ]);
  });
});

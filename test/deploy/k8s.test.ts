// k8s/: each overlay rendered by kustomize and sent to a real API server as a server-side dry run (the
// server validates every object against its schema and admission; Namespaces are created for real so
// namespaced objects can be checked). Kueue's objects are checked by shape: the test plane has no Kueue.
import { buildJob } from '../../src/experiments/executor/kubernetes/job-spec';
import { jobInput } from '../support/job-input';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ensureBinaries, K8S_CACHE, startPlane, type Plane } from '../../scripts/k8s/plane';
import { ROOT, TEST_DATA } from '../support/paths';

type Obj = k8s.KubernetesObject & { spec?: Record<string, unknown>; data?: Record<string, string> };

let plane: Plane;
let api: k8s.KubernetesObjectApi;
beforeAll(async () => {
  ensureBinaries();
  plane = await startPlane(path.join(TEST_DATA, 'k8s-deploy'));
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(plane.kubeconfig);
  api = k8s.KubernetesObjectApi.makeApiClient(kc);
}, 900_000);
afterAll(async () => plane?.stop());

const render = (overlay: string): Obj[] =>
  k8s.loadAllYaml(
    execFileSync(path.join(K8S_CACHE, 'bin', 'kustomize'), ['build', path.join(ROOT, 'k8s', overlay)], {
      encoding: 'utf8',
    }),
  ) as Obj[];

async function dryRun(objects: Obj[]): Promise<void> {
  for (const ns of objects.filter((o) => o.kind === 'Namespace'))
    await api.create(ns).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
  for (const o of objects.filter((x) => x.kind !== 'Namespace' && !x.apiVersion!.startsWith('kueue.x-k8s.io/'))) {
    try {
      await api.create(o, undefined, 'All');
    } catch (err) {
      throw new Error(`${o.kind} ${o.metadata?.name}: ${String((err as { body?: unknown }).body ?? err)}`);
    }
  }
}

const find = (objects: Obj[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata?.name === name)!;

it.each([['base'], ['overlays/production'], ['overlays/gpu-kueue']])(
  '%s renders and the API server accepts every object',
  async (overlay) => {
    const objects = render(overlay);
    expect(objects.length).toBeGreaterThan(10);
    await dryRun(objects);
  },
);

it('gives the worker Jobs, Pods, their logs and Secrets in the experiments namespace only', () => {
  const objects = render('base');
  expect(objects.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toBe(false);
  const role = find(objects, 'Role', 'mlr-worker') as Obj & { rules: Array<{ resources: string[] }> };
  expect(role.metadata!.namespace).toBe('mlr-experiments');
  expect(role.rules.flatMap((r) => r.resources).sort()).toEqual(['events', 'jobs', 'pods', 'pods/log', 'secrets']);
  const experiments = find(objects, 'Namespace', 'mlr-experiments');
  expect(experiments.metadata!.labels!['pod-security.kubernetes.io/enforce']).toBe('restricted');
  const policy = find(objects, 'NetworkPolicy', 'experiments-egress-object-store-only') as Obj & {
    spec: { egress: Array<{ ports: Array<{ port: number }> }> };
  };
  expect(policy.metadata!.namespace).toBe('mlr-experiments');
  expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
  // The object store alone: no DNS, which the pods do without (the worker pins the store's address).
  expect(policy.spec.egress.flatMap((e) => e.ports.map((p) => p.port))).toEqual([7070]);
  expect(find(objects, 'ConfigMap', 'mlr-copilot').data).toMatchObject({
    MLR_K8S_NETWORK_POLICY: 'true',
    MLR_K8S_POD_DNS: 'none',
  });
});

it("keeps tasks' environments in a ReadWriteMany claim the worker is told of, and lets only build pods out", () => {
  const objects = render('base');
  const claim = find(objects, 'PersistentVolumeClaim', 'mlr-envs');
  expect(claim.metadata!.namespace).toBe('mlr-experiments');
  expect(claim.spec!.accessModes).toEqual(['ReadWriteMany']);
  expect(find(objects, 'ConfigMap', 'mlr-copilot').data!.MLR_K8S_ENVS_CLAIM).toBe('mlr-envs');
  const builds = find(objects, 'NetworkPolicy', 'environment-builds-egress-package-index') as Obj & {
    spec: { podSelector: unknown; egress: Array<{ to: Array<{ ipBlock: { except: string[] } }>; ports: unknown }> };
  };
  // Experiment pods (component experiment) are not selected: their own policy alone applies to them.
  expect(builds.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/component': 'environment' } });
  expect(builds.spec.egress[0]!.to[0]!.ipBlock.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12']));
  expect(builds.spec.egress[0]!.ports).toEqual([{ protocol: 'TCP', port: 443 }]);
});

it('runs two API replicas behind a disruption budget, probed on /healthz and /readyz, and keeps secrets out', () => {
  const objects = render('base');
  const api = find(objects, 'Deployment', 'mlr-api') as Obj & {
    spec: { replicas: number; template: { spec: { containers: Array<Record<string, unknown>> } } };
  };
  expect(api.spec.replicas).toBe(2);
  const c = api.spec.template.spec.containers[0]!;
  expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/readyz' } });
  expect(c.startupProbe).toMatchObject({ httpGet: { path: '/healthz' } });
  expect((containerOf(objects, 'mlr-worker') as Container & { livenessProbe?: object }).livenessProbe).toMatchObject({
    exec: { command: ['node', 'dist/healthcheck.js'] },
  });
  expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/healthz' } });
  expect(c.image).toBe('ghcr.io/mlr-copilot/mlr-copilot:0.1.0');
  expect(find(objects, 'PodDisruptionBudget', 'mlr-api').spec!.minAvailable).toBe(1);
  expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
  const config = find(objects, 'ConfigMap', 'mlr-copilot');
  expect(Object.keys(config.data!).filter((k) => /SECRET|PASSWORD|TOKEN|API_KEY|DATABASE_URL/.test(k))).toEqual([]);
});

type Container = { name: string; env?: Array<{ name: string; value?: string }> };
const containerOf = (objects: Obj[], name: string) =>
  (find(objects, 'Deployment', name) as Obj & { spec: { template: { spec: { containers: Container[] } } } }).spec
    .template.spec.containers[0]!;

it('empties the API tokens the shared Secret gives the worker: only the API checks them', () => {
  const objects = render('base');
  expect(containerOf(objects, 'mlr-worker').env).toContainEqual({ name: 'MLR_API_TOKENS', value: '' });
  expect(containerOf(objects, 'mlr-api').env?.map((e) => e.name)).not.toContain('MLR_API_TOKENS');
});

it('queues experiment Jobs with Kueue in the GPU overlay', () => {
  const objects = render('overlays/gpu-kueue');
  expect(find(objects, 'ConfigMap', 'mlr-copilot').data!.MLR_K8S_QUEUE).toBe('research');
  const local = find(objects, 'LocalQueue', 'research');
  expect(local.metadata!.namespace).toBe('mlr-experiments');
  expect(local.spec).toEqual({ clusterQueue: 'research' });
  expect(JSON.stringify(find(objects, 'ClusterQueue', 'research').spec)).toContain('nvidia.com/gpu');
  expect(find(objects, 'Deployment', 'mlr-worker').spec!.replicas).toBe(2);
});

/** Every resource an experiment Job requests, as the worker builds it (a GPU Job: the most it asks for). */
const requestedByJobs = (gpuResource: string) => {
  const job = buildJob(jobInput(1), {
    namespace: 'mlr-experiments',
    image: 'i',
    gpuResource,
    gpuTypeLabel: 'nvidia.com/gpu.product',
    nodeSelector: {},
    tolerations: [],
    ttlSecondsAfterFinished: 60,
    deadlineMarginSeconds: 60,
    runAsUser: 1000,
    ephemeralStorageMb: 1024,
  });
  const pod = (job.spec.template as { spec: { containers: Array<{ resources: { requests: object } }> } }).spec;
  return Object.keys(pod.containers[0]!.resources.requests).sort();
};
/** A ClusterQueue's covered resources, each with a quota in every flavour (Kueue leaves anything else pending). */
function covered(queue: Obj): string[] {
  const groups = (
    queue.spec as {
      resourceGroups: Array<{ coveredResources: string[]; flavors: Array<{ resources: Array<{ name: string }> }> }>;
    }
  ).resourceGroups;
  for (const g of groups) {
    for (const f of g.flavors) expect(f.resources.map((r) => r.name).sort()).toEqual([...g.coveredResources].sort());
  }
  return groups.flatMap((g) => g.coveredResources).sort();
}

it('covers with the shipped ClusterQueue every resource a Job requests, in kueue v1beta2', () => {
  const objects = render('overlays/gpu-kueue');
  const queue = find(objects, 'ClusterQueue', 'research');
  expect(covered(queue)).toEqual(expect.arrayContaining(requestedByJobs('nvidia.com/gpu')));
  expect(covered(queue)).toContain('ephemeral-storage');
  const kueue = objects.filter((o) => o.apiVersion!.startsWith('kueue.x-k8s.io/'));
  expect(kueue.length).toBe(3);
  for (const o of kueue) expect(o.apiVersion).toBe('kueue.x-k8s.io/v1beta2');
});

it('would catch a broken manifest (the dry run is live)', async () => {
  const broken = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'broken', namespace: 'mlr-copilot' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: { metadata: { labels: { a: 'c' } }, spec: { containers: [] } },
    },
  };
  await expect(dryRun([broken])).rejects.toThrow(/Deployment broken: .*(selector|containers)/);
});

describe('helm/mlr-copilot', () => {
  const HELM = path.join(K8S_CACHE, 'bin', 'helm');
  const CHART = path.join(ROOT, 'helm', 'mlr-copilot');
  const GPU = path.join(CHART, 'values-gpu.yaml');
  const template = (...args: string[]) =>
    k8s.loadAllYaml(
      execFileSync(HELM, ['template', 'mlr', CHART, '--namespace', 'mlr-copilot', ...args], { encoding: 'utf8' }),
    ) as Obj[];

  it.each([[[]], [['-f', GPU]]])('passes helm lint --strict with values %j', (args) => {
    expect(execFileSync(HELM, ['lint', '--strict', CHART, ...args], { encoding: 'utf8' })).toMatch(
      /1 chart\(s\) linted, 0 chart\(s\) failed/,
    );
  });

  it.each([[[]], [['-f', GPU]]])('renders objects the API server accepts with values %j', async (args) => {
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mlr-copilot' } }).catch(() => undefined);
    const objects = template(...args);
    await dryRun(objects);
    const worker = find(objects, 'Deployment', 'mlr-worker') as Obj & {
      spec: { template: { spec: { serviceAccountName: string } } };
    };
    expect(worker.spec.template.spec.serviceAccountName).toBe('mlr-worker');
    expect(containerOf(objects, 'mlr-worker').env).toContainEqual({ name: 'MLR_API_TOKENS', value: '' });
    expect(containerOf(objects, 'mlr-api').env?.map((e) => e.name)).not.toContain('MLR_API_TOKENS');
  });

  it('puts the GPU settings and the Kueue queue into the service configuration with the GPU values', () => {
    const config = find(template('-f', GPU), 'ConfigMap', 'mlr-config').data!;
    expect(config.MLR_K8S_QUEUE).toBe('research');
    expect(JSON.parse(config.MLR_K8S_TOLERATIONS!)).toEqual([
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    expect(JSON.parse(config.MLR_K8S_NODE_SELECTOR!)).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(config.MLR_K8S_RUNTIME_CLASS).toBe('nvidia');
    expect(find(template(), 'ConfigMap', 'mlr-config').data!.MLR_K8S_QUEUE).toBeUndefined();
  });

  it('renders a ClusterQueue in kueue v1beta2 that covers every resource a Job requests', () => {
    const objects = template('-f', GPU);
    const kueue = objects.filter((o) => o.apiVersion?.startsWith('kueue.x-k8s.io/'));
    expect(kueue.map((o) => o.kind).sort()).toEqual(['ClusterQueue', 'LocalQueue', 'ResourceFlavor']);
    for (const o of kueue) expect(o.apiVersion).toBe('kueue.x-k8s.io/v1beta2');
    expect(covered(find(objects, 'ClusterQueue', 'research'))).toEqual(
      expect.arrayContaining(requestedByJobs('nvidia.com/gpu')),
    );
  });

  it('keeps the experiments namespace on uninstall, probes start-up, worker liveness and the Temporal API key', () => {
    const objects = template();
    expect(find(objects, 'Namespace', 'mlr-experiments').metadata!.annotations).toEqual({
      'helm.sh/resource-policy': 'keep',
    });
    type Probed = Container & { startupProbe?: object; livenessProbe?: object };
    const api = containerOf(objects, 'mlr-api') as Probed;
    expect(api.startupProbe).toMatchObject({ httpGet: { path: '/healthz' }, failureThreshold: 60 });
    const worker = containerOf(objects, 'mlr-worker') as Probed;
    expect(worker.livenessProbe).toMatchObject({ exec: { command: ['node', 'dist/healthcheck.js'] } });
    // Memory for two PDF extractions (MLR_INGEST_CONCURRENCY × MLR_PDF_MEMORY_MB) and the API itself.
    const limit = (api as Container & { resources: { limits: { memory: string } } }).resources.limits.memory;
    expect(Number(/^(\d+)Gi$/.exec(limit)![1]) * 1024).toBeGreaterThanOrEqual(2 * 3072 + 1024);
    const names = (o: Obj[]) => containerOf(o, 'mlr-worker').env!.map((e) => e.name);
    expect(names(objects)).not.toContain('TEMPORAL_API_KEY');
    const keyed = template('--set', 'temporal.apiKey=true');
    expect(containerOf(keyed, 'mlr-api').env).toContainEqual({
      name: 'TEMPORAL_API_KEY',
      valueFrom: { secretKeyRef: { name: 'mlr-copilot-secrets', key: 'TEMPORAL_API_KEY' } },
    });
  });

  it('lets experiment pods reach an object store outside the cluster by its address ranges alone', () => {
    type Policy = Obj & { spec: { egress: Array<{ to: Array<Record<string, unknown>>; ports: object[] }> } };
    const policy = (o: Obj[]) => find(o, 'NetworkPolicy', 'experiments-egress-object-store-only') as Policy;
    const outside = policy(template('--set', 'experiments.networkPolicy.objectStoreCidrs={52.216.0.0/15,3.5.0.0/19}'))
      .spec.egress;
    expect(outside).toEqual([
      {
        to: [{ ipBlock: { cidr: '52.216.0.0/15' } }, { ipBlock: { cidr: '3.5.0.0/19' } }],
        ports: [{ protocol: 'TCP', port: 443 }],
      },
    ]);
    expect(policy(template()).spec.egress[0]!.to[0]).toHaveProperty('namespaceSelector');
    expect(() => template('--set', 'experiments.networkPolicy.objectStoreCidrs={example.com}')).toThrow();
  });

  it('wires pull secrets, placement, worker SDK metrics and a ServiceMonitor when asked', () => {
    const objects = template(
      '--set',
      'imagePullSecrets={regcred}',
      '--set',
      'serviceMonitor.enabled=true',
      '--set',
      'worker.nodeSelector.pool=cpu',
    );
    type PodSpec = { imagePullSecrets?: object[]; nodeSelector?: object };
    const pod = (name: string) =>
      (find(objects, 'Deployment', name) as Obj & { spec: { template: { spec: PodSpec } } }).spec.template.spec;
    expect(pod('mlr-api').imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod('mlr-worker').nodeSelector).toEqual({ pool: 'cpu' });
    expect(containerOf(objects, 'mlr-worker').env).toContainEqual({
      name: 'MLR_WORKER_METRICS_ADDRESS',
      value: '0.0.0.0:9464',
    });
    const monitor = find(objects, 'ServiceMonitor', 'mlr') as Obj & { spec: { endpoints: Array<{ port: string }> } };
    expect(monitor.spec.endpoints.map((e) => e.port)).toEqual(['http', 'metrics']);
    expect(find(objects, 'Service', 'mlr-worker-metrics')).toBeDefined();
    expect(template().some((o) => o.kind === 'ServiceMonitor')).toBe(false);
  });

  it('migrates once per release in a pre-install/pre-upgrade hook Job, and the replicas only check', () => {
    const objects = template();
    const job = find(objects, 'Job', 'mlr-migrate') as Obj & {
      spec: { template: { spec: { containers: Array<{ args: string[] }> } } };
    };
    expect(job.metadata!.annotations).toMatchObject({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
    });
    expect(job.spec.template.spec.containers[0]!.args).toEqual(['dist/db/migrate.js']);
    expect(find(objects, 'ConfigMap', 'mlr-config').data!.MLR_MIGRATE).toBe('check');
  });

  it('connects to Temporal with mTLS from a mounted Secret when given one', () => {
    const objects = template(
      '--set',
      'temporal.mtls.secretName=temporal-client',
      '--set',
      'temporal.mtls.serverCa=true',
    );
    expect(find(objects, 'ConfigMap', 'mlr-config').data).toMatchObject({
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/etc/temporal-tls/tls.crt',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/etc/temporal-tls/tls.key',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/etc/temporal-tls/ca.crt',
    });
    type Pod = { volumes: Array<{ name: string; secret?: { secretName: string } }> };
    for (const name of ['mlr-api', 'mlr-worker']) {
      const pod = (find(objects, 'Deployment', name) as Obj & { spec: { template: { spec: Pod } } }).spec.template.spec;
      expect(pod.volumes).toContainEqual({
        name: 'temporal-tls',
        secret: { secretName: 'temporal-client', defaultMode: 0o400 },
      });
    }
    expect(find(template(), 'ConfigMap', 'mlr-config').data!.TEMPORAL_TLS_CLIENT_CERT_PATH).toBeUndefined();
  });

  it("configures tasks' environments by default, with a mirror when given, and leaves them out when disabled", () => {
    const on = template('--set', 'experiments.environments.indexUrl=https://pypi.mirror.example/simple');
    expect(find(on, 'ConfigMap', 'mlr-config').data).toMatchObject({
      MLR_K8S_ENVS_CLAIM: 'mlr-envs',
      MLR_K8S_ENV_BUILD_TIMEOUT_S: '3600',
      MLR_K8S_ENV_INDEX_URL: 'https://pypi.mirror.example/simple',
    });
    expect(find(on, 'PersistentVolumeClaim', 'mlr-envs').metadata!.annotations).toEqual({
      'helm.sh/resource-policy': 'keep',
    });
    expect(find(on, 'NetworkPolicy', 'environment-builds-egress-package-index')).toBeDefined();
    const off = template('--set', 'experiments.environments.enabled=false');
    expect(find(off, 'ConfigMap', 'mlr-config').data!.MLR_K8S_ENVS_CLAIM).toBeUndefined();
    expect(off.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
    expect(off.some((o) => o.metadata?.name === 'environment-builds-egress-package-index')).toBe(false);
  });

  it('lets experiment pods reach DNS only when they are to use the cluster resolver', () => {
    type Policy = Obj & { spec: { egress: Array<{ ports: Array<{ port: number }> }> } };
    const ports = (objects: Obj[]) =>
      (find(objects, 'NetworkPolicy', 'experiments-egress-object-store-only') as Policy).spec.egress.flatMap((e) =>
        e.ports.map((p) => p.port),
      );
    const pinned = template();
    expect(ports(pinned)).toEqual([7070]);
    expect(find(pinned, 'ConfigMap', 'mlr-config').data!.MLR_K8S_POD_DNS).toBe('none');
    const resolver = template('--set', 'experiments.podDns=cluster');
    expect(ports(resolver)).toEqual([7070, 53, 53]);
    expect(find(resolver, 'ConfigMap', 'mlr-config').data!.MLR_K8S_POD_DNS).toBe('cluster');
  });

  it('refuses values its schema does not allow, naming them', () => {
    let message = '';
    try {
      const bad = ['--set', 'api.replicas=two', '--set', 'kueue.quota=1', '--set', 'experiments.podDns=google'];
      execFileSync(HELM, ['lint', '--strict', CHART, ...bad], {
        encoding: 'utf8',
      });
    } catch (err) {
      message = String((err as { stdout?: string }).stdout) + String((err as { stderr?: string }).stderr);
    }
    expect(message).toMatch(/replicas/);
    expect(message).toMatch(/quota/);
    expect(message).toMatch(/podDns/);
  });
});

describe("the chart's worker RBAC, deployed for real", () => {
  it('lets the worker create Jobs in the experiments namespace and nothing in the service namespace', async () => {
    const HELM = path.join(K8S_CACHE, 'bin', 'helm');
    const rendered = k8s.loadAllYaml(
      execFileSync(HELM, ['template', 'mlr', path.join(ROOT, 'helm', 'mlr-copilot'), '--namespace', 'mlr-copilot'], {
        encoding: 'utf8',
      }),
    ) as Obj[];
    const rbac = rendered.filter((o) => ['Namespace', 'ServiceAccount', 'Role', 'RoleBinding'].includes(o.kind!));
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mlr-copilot' } }).catch(() => undefined);
    for (const o of rbac) await api.create(o).catch((e: { code?: number }) => expect(e.code).toBe(409));
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(plane.kubeconfig);
    const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
    const can = async (namespace: string, verb: string, resource: string, group = '', subresource?: string) =>
      (
        await authz.createSubjectAccessReview({
          body: {
            spec: {
              user: 'system:serviceaccount:mlr-copilot:mlr-worker',
              groups: ['system:serviceaccounts', 'system:serviceaccounts:mlr-copilot', 'system:authenticated'],
              resourceAttributes: { namespace, verb, resource, group, subresource },
            },
          },
        })
      ).status!.allowed;
    expect(await can('mlr-experiments', 'create', 'jobs', 'batch')).toBe(true);
    expect(await can('mlr-experiments', 'get', 'pods', '', 'log')).toBe(true);
    expect(await can('mlr-experiments', 'create', 'pods')).toBe(false);
    expect(await can('mlr-experiments', 'create', 'secrets')).toBe(true);
    expect(await can('mlr-copilot', 'get', 'secrets')).toBe(false);
    expect(await can('mlr-copilot', 'create', 'jobs', 'batch')).toBe(false);
    expect(await can('default', 'list', 'pods')).toBe(false);
  });
});

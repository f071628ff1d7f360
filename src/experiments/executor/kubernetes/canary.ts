// The network claim, checked: at start-up the worker runs a canary pod under the very settings and policy
// experiment pods get, and it must fail to reach every target (an outside address, the cloud metadata
// address, the API server, an outside name through DNS). What it reached is what an experiment could reach.
// The spec builder is pure (table-tested); probeNetwork drives it through the same JobCluster as executions.
import { randomBytes } from 'node:crypto';
import dns from 'node:dns';
import net from 'node:net';
import {
  containerSecurity,
  LABEL_MANAGED,
  MANAGED_BY,
  podBasics,
  podDns,
  podSecurity,
  type BuiltJob,
  type HostAlias,
  type JobSettings,
} from './job-spec';
import { observe, type JobLike, type PodLike } from './status';

/** What the canary needs of the cluster (the executor's JobCluster has it). */
export interface CanaryCluster {
  createJob(job: BuiltJob): Promise<unknown>;
  readJob(name: string): Promise<JobLike | undefined>;
  listPods(jobName: string): Promise<PodLike[]>;
  deleteJob(name: string): Promise<void>;
}

/** What the canary tries unless the operator names others: outside, the metadata service, an outside name. */
export const DEFAULT_CANARY_TARGETS = ['1.1.1.1:443', '169.254.169.254:80', 'dns:example.com'];

export interface CanaryResult {
  isolated: boolean;
  reached: string[];
}

/** The canary Job: the experiment pod's security, DNS, node placement and image, running runner/canary.py. */
export function canaryJob(s: JobSettings, targets: string[], suffix: string): BuiltJob {
  const labels = { [LABEL_MANAGED]: MANAGED_BY, 'app.kubernetes.io/component': 'canary' };
  const limits = { cpu: '100m', memory: '64Mi', 'ephemeral-storage': '16Mi' };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `mlr-canary-${suffix}`, namespace: s.namespace, labels, annotations: {} },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: 300,
      ttlSecondsAfterFinished: 300,
      template: {
        metadata: { labels },
        spec: {
          ...podBasics,
          ...podDns(s),
          ...(Object.keys(s.nodeSelector).length ? { nodeSelector: s.nodeSelector } : {}),
          ...(s.tolerations.length ? { tolerations: s.tolerations } : {}),
          ...(s.runtimeClassName ? { runtimeClassName: s.runtimeClassName } : {}),
          securityContext: podSecurity(s),
          containers: [
            {
              name: 'canary',
              image: s.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['python3', '/opt/mlr/canary.py'],
              env: [{ name: 'MLR_PROBE_TARGETS', value: targets.join(',') }],
              resources: { requests: limits, limits },
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: containerSecurity,
            },
          ],
        },
      },
    },
  };
}

/** The API server as a target (host:port of the kubeconfig's server URL). */
export function apiServerTarget(server: string): string {
  const u = new URL(server);
  return `${u.hostname}:${u.port || (u.protocol === 'http:' ? '80' : '443')}`;
}

/** Reads the canary's verdict: the termination message, else its exit code alone. */
export function canaryVerdict(message: string | undefined, exitCode: number): CanaryResult {
  try {
    const parsed = JSON.parse(message ?? '') as { reached?: unknown };
    if (Array.isArray(parsed.reached)) {
      const reached = parsed.reached.filter((r): r is string => typeof r === 'string').slice(0, 32);
      return { isolated: exitCode === 0 && reached.length === 0, reached };
    }
  } catch {
    // no message: the exit code says it
  }
  return { isolated: false, reached: exitCode === 0 ? ['(canary said nothing)'] : [`(canary exit ${exitCode})`] };
}

/**
 * Runs the canary and waits for its verdict (deleting it after). Throws when it does not finish within
 * `timeoutMs`: a claim that cannot be checked is not taken.
 */
export async function probeNetwork(
  cluster: CanaryCluster,
  s: JobSettings,
  targets: string[],
  o: { pollMs: number; timeoutMs: number },
): Promise<CanaryResult> {
  const job = canaryJob(s, targets, randomBytes(5).toString('hex'));
  const name = job.metadata.name;
  await cluster.createJob(job);
  const deadline = Date.now() + o.timeoutMs;
  try {
    for (;;) {
      const current = await cluster.readJob(name);
      const seen = observe(current ?? {}, await cluster.listPods(name));
      if (seen.exitCode !== undefined) return canaryVerdict(seen.terminationMessage, seen.exitCode);
      if (seen.phase === 'failed' || seen.phase === 'succeeded')
        return canaryVerdict(undefined, seen.phase === 'succeeded' ? 0 : 1);
      if (Date.now() > deadline)
        throw new Error(`the network canary ${name} did not finish in ${o.timeoutMs / 1000} s (${seen.phase})`);
      await new Promise((r) => setTimeout(r, o.pollMs));
    }
  } finally {
    await cluster.deleteJob(name).catch(() => undefined);
  }
}

/**
 * The object store's addresses, for pods that have no resolver: each URL's host looked up here (an IP needs
 * none). Resolved once at start-up: a Service's cluster IP does not change while it exists.
 */
export async function pinHosts(
  urls: string[],
  lookup: (host: string) => Promise<Array<{ address: string }>> = (h) => dns.promises.lookup(h, { all: true }),
): Promise<HostAlias[]> {
  const byIp = new Map<string, Set<string>>();
  for (const url of urls) {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(host)) continue;
    for (const { address } of await lookup(host)) {
      if (!byIp.has(address)) byIp.set(address, new Set());
      byIp.get(address)!.add(host);
    }
  }
  return [...byIp].map(([ip, hosts]) => ({ ip, hostnames: [...hosts].sort() }));
}

// The tests' kubelet for the fake GPU node: kwok schedules and marks pods running but runs no containers,
// so for each pod of ours it runs the pod's command (the runner, or the environment builder) here, with the
// pod's environment and its Secret's values, then records the container's exit code and termination message
// on the pod status — as a kubelet would. A pod deleted while it runs has its process killed.
// Volumes of a PersistentVolumeClaim are folders under workDir/volumes/<claim>, shared by every pod that
// mounts the claim; with no mount namespaces here, the environment values under the mount path are rewritten
// to that folder (read-only mounts are not enforced: a real kubelet does that).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';

export interface Kubelet {
  /** Pods it has run, by name. */
  ran: string[];
  /** Where the claims' folders are: <volumes>/<claim>. */
  volumes: string;
  stop(): Promise<void>;
}

export interface KubeletOptions {
  kubeconfig: string;
  namespace: string;
  python: string;
  runner: string;
  workDir: string;
  /** Pods of these names are left running (for tests that hold a Job in Running). */
  hold?: (podName: string) => boolean;
  /**
   * Pods of these names run in a network namespace of their own (loopback only), as under a network plugin
   * that enforces a deny-all egress policy. Others share the host's network: no policy is enforced for them.
   */
  noNetwork?: (podName: string) => boolean;
}

export function startKubelet(o: KubeletOptions): Kubelet {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(o.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const running = new Map<string, ChildProcess>();
  const ran: string[] = [];
  let stopped = false;

  async function envOf(pod: k8s.V1Pod): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    const secrets = new Map<string, Record<string, string>>();
    for (const e of pod.spec!.containers[0]!.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) {
        if (!secrets.has(ref.name!)) {
          const s = await core.readNamespacedSecret({ name: ref.name!, namespace: o.namespace });
          const data = Object.fromEntries(
            Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
          );
          secrets.set(ref.name!, data);
        }
        env[e.name] = secrets.get(ref.name!)![ref.key]!;
      }
    }
    return env;
  }

  async function run(pod: k8s.V1Pod): Promise<void> {
    const name = pod.metadata!.name!;
    ran.push(name); // claimed before the first await, so one pass never starts it twice
    const dir = path.join(o.workDir, name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'workspace'), { recursive: true });
    const env: Record<string, string> = {
      ...(await envOf(pod)),
      PATH: `${path.dirname(o.python)}:/usr/bin:/bin`,
      MLR_WORKSPACE: path.join(dir, 'workspace'),
      MLR_TERMINATION_LOG: path.join(dir, 'termination-log'),
      HOME: dir,
      TMPDIR: dir,
    };
    for (const k of ['HF_HOME', 'TORCH_HOME', 'TRITON_CACHE_DIR', 'MPLCONFIGDIR', 'XDG_CACHE_HOME']) delete env[k];
    const container = pod.spec!.containers[0]!;
    for (const m of container.volumeMounts ?? []) {
      const claim = pod.spec!.volumes?.find((v) => v.name === m.name)?.persistentVolumeClaim?.claimName;
      if (!claim) continue;
      const host = path.join(o.workDir, 'volumes', claim);
      fs.mkdirSync(host, { recursive: true });
      for (const [k, v] of Object.entries(env))
        if (v === m.mountPath || v.startsWith(`${m.mountPath}/`)) env[k] = host + v.slice(m.mountPath.length);
    }
    // The image's files are this checkout's: /opt/mlr/<file> is runner/<file>.
    const program = (container.command ?? []).find((a) => a.startsWith('/opt/mlr/'));
    const script = program ? path.join(path.dirname(o.runner), path.basename(program)) : o.runner;
    const startedAt = new Date();
    const unshare = process.getuid?.() === 0 ? ['--net'] : ['--net', '--map-root-user'];
    const [cmd, args] = o.noNetwork?.(name) ? ['unshare', [...unshare, o.python, script]] : [o.python, [script]];
    const child = spawn(cmd, args, { env, cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
    running.set(name, child);
    const code = await new Promise<number>((resolve) => child.once('exit', (c, sig) => resolve(c ?? (sig ? 137 : 1))));
    running.delete(name);
    if (stopped) return;
    const message = fs.existsSync(env.MLR_TERMINATION_LOG!)
      ? fs.readFileSync(env.MLR_TERMINATION_LOG!, 'utf8').slice(0, 4096)
      : undefined;
    const status = {
      status: {
        phase: code === 0 ? 'Succeeded' : 'Failed',
        containerStatuses: [
          {
            name: container.name,
            image: container.image,
            imageID: '',
            ready: false,
            restartCount: 0,
            state: {
              terminated: {
                exitCode: code,
                reason: code === 0 ? 'Completed' : 'Error',
                message,
                startedAt: startedAt.toISOString(),
                finishedAt: new Date().toISOString(),
              },
            },
          },
        ],
      },
    };
    await core
      .patchNamespacedPodStatus(
        { name, namespace: o.namespace, body: status },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      )
      .catch(() => undefined); // deleted meanwhile
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        const pods = await core.listNamespacedPod({
          namespace: o.namespace,
          labelSelector: 'app.kubernetes.io/managed-by=mlr-copilot',
        });
        const present = new Set<string>();
        for (const pod of pods.items) {
          const name = pod.metadata!.name!;
          if (!pod.metadata?.deletionTimestamp) present.add(name);
          const started = running.has(name) || ran.includes(name);
          if (!started && pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp && !o.hold?.(name))
            void run(pod).catch(() => {
              // As a kubelet does when a Secret is not there yet: try the pod again on the next pass.
              running.delete(pod.metadata!.name!);
              ran.splice(ran.indexOf(pod.metadata!.name!), 1);
            });
        }
        for (const [name, child] of running) if (!present.has(name)) child.kill('SIGKILL');
      } catch {
        // the plane restarting; try again
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  })();

  return {
    ran,
    volumes: path.join(o.workDir, 'volumes'),
    async stop() {
      stopped = true;
      for (const c of running.values()) c.kill('SIGKILL');
      await loop;
    },
  };
}

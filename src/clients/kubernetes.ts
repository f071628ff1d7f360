// The one module that talks to the Kubernetes API (@kubernetes/client-node), behind the executor's
// JobCluster interface. Built in the composition root from a kubeconfig or the in-cluster config.
import * as k8s from '@kubernetes/client-node';
import type { ClusterJob, JobCluster } from '../experiments/executor/kubernetes';
import { LABEL_MANAGED, LABEL_RUN, MANAGED_BY } from '../experiments/executor/kubernetes/job-spec';

/** `kubeconfig`: a file; unset: $KUBECONFIG, ~/.kube/config, then the in-cluster service account. */
export function loadKubeConfig(kubeconfig?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  return kc;
}

/** The status code of a failed API call (ApiException carries it as `code`). */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** The API's own message for a failed call (its body arrives as a JSON string). */
export function messageOf(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  try {
    const parsed = typeof body === 'string' ? (JSON.parse(body) as { message?: string }) : undefined;
    if (parsed?.message) return parsed.message;
  } catch {
    // not JSON
  }
  return (err as Error).message;
}

export function createJobCluster(kc: k8s.KubeConfig, namespace: string): JobCluster {
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const notFound = <T>(p: Promise<T>): Promise<T | undefined> =>
    p.catch((err: unknown) => {
      if (statusOf(err) === 404) return undefined;
      throw err;
    });
  return {
    async createJob(job) {
      try {
        const created = await batch.createNamespacedJob({ namespace, body: job as unknown as k8s.V1Job });
        return { uid: created.metadata!.uid! };
      } catch (err) {
        if (statusOf(err) === 409) return { exists: true };
        throw new Error(`creating Job: ${messageOf(err)}`);
      }
    },
    async readJob(name) {
      return (await notFound(batch.readNamespacedJob({ name, namespace }))) as ClusterJob | undefined;
    },
    async listPods(jobName) {
      const pods = await core.listNamespacedPod({
        namespace,
        labelSelector: `batch.kubernetes.io/job-name=${jobName}`,
      });
      return pods.items;
    },
    async deleteJob(name) {
      // Background: the batch/v1 default orphans the pods, which would keep running (and holding GPUs).
      await notFound(batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' }));
    },
    async createSecret(name, data, owner) {
      const body: k8s.V1Secret = {
        metadata: {
          name,
          labels: { [LABEL_MANAGED]: MANAGED_BY },
          ...(owner ? { ownerReferences: [ownerRef(owner)] } : {}),
        },
        type: 'Opaque',
        stringData: data,
      };
      try {
        await core.createNamespacedSecret({ namespace, body });
      } catch (err) {
        if (statusOf(err) !== 409) throw new Error(`creating Secret: ${messageOf(err)}`);
        await core.replaceNamespacedSecret({ name, namespace, body });
      }
    },
    async setSecretOwner(name, owner) {
      await core.patchNamespacedSecret(
        { name, namespace, body: { metadata: { ownerReferences: [ownerRef(owner)] } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    },
    async podLog(podName, limitBytes) {
      return core.readNamespacedPodLog({ name: podName, namespace, container: 'runner', limitBytes, tailLines: 1000 });
    },
    async listManagedJobs() {
      // Jobs of runs only: environment builds belong to no run and go by their TTL.
      const jobs = await batch.listNamespacedJob({
        namespace,
        labelSelector: `${LABEL_MANAGED}=${MANAGED_BY},${LABEL_RUN}`,
      });
      return jobs.items.map((j) => ({ name: j.metadata!.name!, runId: j.metadata?.labels?.[LABEL_RUN] ?? '' }));
    },
  };
}

const ownerRef = (owner: { name: string; uid: string }) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  name: owner.name,
  uid: owner.uid,
  blockOwnerDeletion: false,
});

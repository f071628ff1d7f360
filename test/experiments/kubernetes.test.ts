// The Kubernetes backend against the executor contract, on a real control plane (kube-apiserver, etcd,
// the Job controller, the scheduler, a kwok GPU node) with the stand-in kubelet running the real runner,
// and a real S3-compatible store for the transfers.
import * as k8s from '@kubernetes/client-node';
import { NAMESPACE, startK8sWorld, type K8sWorld } from '../support/k8s';
import { executorContract } from './executor-contract';

let world: K8sWorld;
beforeAll(async () => {
  world = await startK8sWorld('executor');
}, 900_000);
afterAll(async () => world?.close());

executorContract({
  name: 'kubernetes',
  sandbox: 'pod',
  make: async () => ({ executor: world.executor(), store: world.s3.artifacts }),
  enforces: { memory: false, network: false },
});

describe('the Kubernetes executor', () => {
  it('leaves no Job behind once an execution is collected… until its TTL; each Job is ours and labelled', async () => {
    const batch = world.kc.makeApiClient(k8s.BatchV1Api);
    const jobs = await batch.listNamespacedJob({ namespace: NAMESPACE });
    expect(jobs.items.length).toBeGreaterThan(0);
    for (const j of jobs.items) expect(j.metadata!.labels!['app.kubernetes.io/managed-by']).toBe('mlr-copilot');
  });
});

// GET /metrics: the service's state in the Prometheus text format, for an admin token (it counts every
// owner's runs). The Temporal SDK's own metrics are served by the worker (MLR_WORKER_METRICS_ADDRESS).
import { serviceMetrics, type ServiceMetrics } from '../../db/metrics';
import { HttpError } from '../../errors';
import type { RouteDeps } from '../types';
import type { RoutePlugin } from '../types';

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The text exposition format (version 0.0.4). */
export function renderMetrics(m: ServiceMetrics): string {
  const out: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: Array<[string, number]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${Number.isFinite(value) ? value : 0}`);
  };
  const l = (pairs: Record<string, string>) =>
    `{${Object.entries(pairs)
      .map(([k, v]) => `${k}="${esc(v)}"`)
      .join(',')}}`;
  metric(
    'mlr_runs',
    'gauge',
    'Runs by status.',
    m.runsByStatus.map((r) => [l({ status: r.status }), r.count]),
  );
  metric('mlr_approvals_waiting', 'gauge', 'Runs waiting for a person to decide.', [['', m.approvalsWaiting]]);
  metric('mlr_approval_oldest_wait_seconds', 'gauge', 'How long the oldest waiting decision has waited.', [
    ['', m.oldestApprovalSeconds],
  ]);
  metric('mlr_runs_queued', 'gauge', 'Runs accepted and not started yet.', [['', m.queuedRuns]]);
  metric('mlr_queue_oldest_wait_seconds', 'gauge', 'How long the oldest queued run has waited to start.', [
    ['', m.oldestQueuedSeconds],
  ]);
  metric(
    'mlr_workers_live',
    'gauge',
    'Workers that beat in the last 45 s, by artifact store.',
    m.workersLive.map((w) => [l({ store: w.store }), w.count]),
  );
  // A status an execution ends in is final, so those counts only grow; running ones are a gauge of their own.
  const finished = m.executions.filter((e) => e.status !== 'running');
  metric(
    'mlr_executions_total',
    'counter',
    'Finished experiment executions by final status and backend.',
    finished.map((e) => [l({ status: e.status, backend: e.backend }), e.count]),
  );
  metric(
    'mlr_executions_running',
    'gauge',
    'Experiment executions running now, by backend.',
    m.executions.filter((e) => e.status === 'running').map((e) => [l({ backend: e.backend }), e.count]),
  );
  metric('mlr_model_tokens_total', 'counter', 'Model tokens by model and kind.', [
    ...m.tokens.map((t): [string, number] => [l({ model: t.model, kind: 'prompt' }), t.prompt]),
    ...m.tokens.map((t): [string, number] => [l({ model: t.model, kind: 'completion' }), t.completion]),
  ]);
  metric(
    'mlr_model_cost_usd_total',
    'counter',
    'Model cost in USD by model (MLR_MODEL_PRICES).',
    m.tokens.map((t) => [l({ model: t.model }), t.costUsd]),
  );
  return `${out.join('\n')}\n`;
}

export const metricsRoutes: RoutePlugin<RouteDeps> = async (app, { db }) => {
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (!req.principal.admin) throw new HttpError(403, 'Forbidden', 'metrics are for an admin token');
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(renderMetrics(await serviceMetrics(db)));
  });
};

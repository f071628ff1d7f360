import fs from 'node:fs';
import path from 'node:path';
import { appendEvent, countEvents } from '../../db/events';
import { experimentOfRun } from '../../db/experiments';
import { patchRun, type RunRow } from '../../db/runs';
import { getSnapshot, latestSnapshot } from '../../db/snapshots';
import type { Principal } from '../../domain/user';
import { HttpError } from '../../errors';
import { EXPERIMENT_STATUSES, isFinished } from '../../domain/run-input';
import { loadRunOr404 } from '../access';
import type { RouteDeps } from '../types';
import { errorResponses, experimentParams, uuidParam } from '../schemas';
import type { RoutePlugin } from '../types';

const accepted = {
  type: 'object',
  properties: { accepted: { type: 'boolean' }, paused: { type: 'boolean' } },
} as const;

const workspaceSchema = {
  type: 'object',
  properties: {
    codeHash: { type: 'string' },
    starterHash: { type: 'string' },
    diff: { type: 'string' },
    files: {
      type: 'array',
      items: {
        type: 'object',
        properties: { path: { type: 'string' }, sha256: { type: 'string' }, bytes: { type: 'integer' } },
      },
    },
  },
} as const;

export const experimentRoutes: RoutePlugin<RouteDeps> = async (app, deps) => {
  const { db, gateway, config } = deps;
  async function activeRun(id: string, principal: Principal): Promise<RunRow> {
    const run = await loadRunOr404(db, id, principal);
    if (isFinished(run.status, run.until)) throw new HttpError(409, 'RunFinished', `run is already ${run.status}`);
    return run;
  }

  app.post(
    '/v1/runs/:id/feedback',
    {
      schema: {
        params: uuidParam,
        body: {
          type: 'object',
          required: ['message'],
          additionalProperties: false,
          properties: { message: { type: 'string', minLength: 1, maxLength: 20_000 } },
        },
        response: { 202: accepted, ...errorResponses },
      },
    },
    async (req, reply) => {
      const run = await activeRun(req.params.id, req.principal);
      // A benchmark scores the agent alone: a person's hint would make its result assisted and not comparable.
      if (run.input?.benchmark) {
        throw new HttpError(
          409,
          'BenchmarkRun',
          "a benchmark's run takes no feedback: its score must be the agent's own (start a run from a paper instead)",
        );
      }
      if (!EXPERIMENT_STATUSES.includes(run.status)) {
        throw new HttpError(
          409,
          'NotExperimenting',
          `run is ${run.status}; feedback reaches the ExperimentAgent while it implements, executes or debugs (use approval to revise ideas)`,
        );
      }
      // Each note is a signal in the workflow's history: bounded per run.
      if ((await countEvents(db, run.id, 'feedback_received')) >= config.MLR_MAX_FEEDBACK_PER_RUN) {
        throw new HttpError(
          409,
          'FeedbackLimit',
          `this run has taken ${config.MLR_MAX_FEEDBACK_PER_RUN} feedback notes (MLR_MAX_FEEDBACK_PER_RUN)`,
        );
      }
      await appendEvent(db, run.id, 'feedback_received', { chars: req.body.message.length });
      await gateway.signal(run.workflow_id, 'feedback', req.body.message);
      return reply.code(202).send({ accepted: true, paused: run.paused });
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/v1/runs/:id/${action}`,
      {
        schema: { params: uuidParam, response: { 202: accepted, ...errorResponses } },
      },
      async (req, reply) => {
        const run = await activeRun(req.params.id, req.principal);
        const paused = action === 'pause';
        if (run.paused === paused)
          throw new HttpError(
            409,
            paused ? 'AlreadyPaused' : 'NotPaused',
            `run is ${paused ? 'already' : 'not'} paused`,
          );
        await gateway.signal(run.workflow_id, action);
        await patchRun(db, run.id, { paused });
        await appendEvent(db, run.id, paused ? 'paused' : 'resumed', {});
        return reply.code(202).send({ accepted: true, paused });
      },
    );
  }

  app.get(
    '/v1/runs/:id/experiments/:eid/log',
    {
      schema: { params: experimentParams, response: { 200: { type: 'string' }, ...errorResponses } },
    },
    async (req, reply) => {
      const run = await loadRunOr404(db, req.params.id, req.principal);
      const experiment = await experimentOfRun(db, run.id, req.params.eid);
      if (!experiment)
        throw new HttpError(404, 'NotFound', `experiment ${req.params.eid} not found in run ${req.params.id}`);
      if (!experiment.log_uri) {
        // Running as a Job: the pod's log so far, straight from the cluster.
        const live = experiment.status === 'running' ? await deps.liveLog?.(experiment.exec_key) : undefined;
        if (live !== undefined) return reply.type('text/plain; charset=utf-8').header('x-mlr-log', 'live').send(live);
        throw new HttpError(409, 'NotFinished', 'the execution has not finished; its log is stored when it ends');
      }
      return reply.type('text/plain; charset=utf-8').send(await deps.store.get(experiment.log_uri));
    },
  );

  app.get(
    '/v1/runs/:id/experiments/:eid/diff',
    {
      schema: {
        summary: "The execution's code as a unified diff against the run's starter",
        params: experimentParams,
        response: { 200: { type: 'string' }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const run = await loadRunOr404(db, req.params.id, req.principal);
      const experiment = await experimentOfRun(db, run.id, req.params.eid);
      if (!experiment)
        throw new HttpError(404, 'NotFound', `experiment ${req.params.eid} not found in run ${req.params.id}`);
      const snap = await getSnapshot(db, run.id, experiment.code_hash);
      if (!snap) throw new HttpError(409, 'NoSnapshot', "no snapshot of this execution's code was kept");
      return reply.type('text/plain; charset=utf-8').send(snap.diff);
    },
  );

  app.get(
    '/v1/runs/:id/workspace',
    {
      schema: { params: uuidParam, response: { 200: workspaceSchema, ...errorResponses } },
    },
    async (req) => {
      const run = await loadRunOr404(db, req.params.id, req.principal);
      const snap = await latestSnapshot(db, run.id);
      if (!snap || !run.starter_hash)
        throw new HttpError(
          409,
          'NoWorkspace',
          `run is ${run.status}; its workspace is created when the experiment starts`,
        );
      const root = path.join(config.MLR_DATA_DIR, 'workspaces', run.id);
      const sizes = await Promise.all(
        Object.keys(snap.manifest).map((p) =>
          fs.promises.lstat(path.join(root, p)).then(
            (s) => s.size,
            () => 0,
          ),
        ),
      );
      return {
        codeHash: snap.code_hash,
        starterHash: run.starter_hash,
        diff: snap.diff,
        files: Object.entries(snap.manifest).map(([p, sha256], i) => ({ path: p, sha256, bytes: sizes[i] })),
      };
    },
  );
};

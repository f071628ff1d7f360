import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { appendEvent } from '../../db/events';
import { getRun, patchRun, type RunRow } from '../../db/runs';
import { HttpError } from '../../errors';
import { EXPERIMENT_STATUSES, isFinished } from '../../workflows/definitions';
import type { AppDeps } from '../app';
import { errorResponses, uuidParam } from '../schemas';

const accepted = { type: 'object', properties: { accepted: { type: 'boolean' }, paused: { type: 'boolean' } } } as const;

export async function experimentRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { db, gateway } = deps;
  async function activeRun(id: string): Promise<RunRow> {
    const run = await getRun(db, id);
    if (!run) throw new HttpError(404, 'NotFound', `run ${id} not found`);
    if (isFinished(run.status, run.until)) throw new HttpError(409, 'RunFinished', `run is already ${run.status}`);
    return run;
  }

  app.post<{ Params: { id: string }; Body: { message: string } }>('/v1/runs/:id/feedback', {
    schema: {
      params: uuidParam,
      body: { type: 'object', required: ['message'], additionalProperties: false, properties: { message: { type: 'string', minLength: 1, maxLength: 20_000 } } },
      response: { 202: accepted, ...errorResponses },
    },
  }, async (req, reply) => {
    const run = await activeRun(req.params.id);
    if (!EXPERIMENT_STATUSES.includes(run.status)) {
      throw new HttpError(409, 'NotExperimenting', `run is ${run.status}; feedback reaches the ExperimentAgent while it implements, executes or debugs (use approval to revise ideas)`);
    }
    await gateway.signal(run.workflow_id, 'feedback', req.body.message);
    return reply.code(202).send({ accepted: true, paused: run.paused });
  });

  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { id: string } }>(`/v1/runs/:id/${action}`, {
      schema: { params: uuidParam, response: { 202: accepted, ...errorResponses } },
    }, async (req, reply) => {
      const run = await activeRun(req.params.id);
      const paused = action === 'pause';
      if (run.paused === paused) throw new HttpError(409, paused ? 'AlreadyPaused' : 'NotPaused', `run is ${paused ? 'already' : 'not'} paused`);
      await gateway.signal(run.workflow_id, action);
      await patchRun(db, run.id, { paused });
      await appendEvent(db, run.id, paused ? 'paused' : 'resumed', {});
      return reply.code(202).send({ accepted: true, paused });
    });
  }

  app.get<{ Params: { id: string; eid: string } }>('/v1/runs/:id/experiments/:eid/log', {
    schema: {
      params: { type: 'object', required: ['id', 'eid'], properties: { id: { type: 'string', format: 'uuid' }, eid: { type: 'string', format: 'uuid' } } },
      response: { 200: { type: 'string' }, ...errorResponses },
    },
  }, async (req, reply) => {
    const { rows } = await db.query<{ log_uri: string | null }>(
      `SELECT e.log_uri FROM experiments e JOIN runs r ON r.id = $1
       WHERE e.id = $2 AND (e.run_id = r.id OR (r.result->>'baselineExperimentId')::uuid = e.id OR
         (e.role = 'baseline' AND e.task_id = r.task_id AND e.code_hash = r.starter_hash))`,
      [req.params.id, req.params.eid],
    );
    if (!rows[0]) throw new HttpError(404, 'NotFound', `experiment ${req.params.eid} not found in run ${req.params.id}`);
    if (!rows[0].log_uri) throw new HttpError(409, 'NotFinished', 'the execution has not finished; its log is stored when it ends');
    return reply.type('text/plain; charset=utf-8').send(await deps.store.get(rows[0].log_uri));
  });

  app.get<{ Params: { id: string } }>('/v1/runs/:id/workspace', {
    schema: {
      params: uuidParam,
      response: {
        200: {
          type: 'object',
          properties: {
            codeHash: { type: 'string' }, starterHash: { type: 'string' }, diff: { type: 'string' },
            files: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, sha256: { type: 'string' }, bytes: { type: 'integer' } } } },
          },
        },
        ...errorResponses,
      },
    },
  }, async (req) => {
    const run = await getRun(db, req.params.id);
    if (!run) throw new HttpError(404, 'NotFound', `run ${req.params.id} not found`);
    const { rows } = await db.query<{ code_hash: string; manifest: Record<string, string>; diff: string }>(
      'SELECT code_hash, manifest, diff FROM snapshots WHERE run_id = $1 ORDER BY created_at DESC LIMIT 1', [run.id]);
    const snap = rows[0];
    if (!snap || !run.starter_hash) throw new HttpError(409, 'NoWorkspace', `run is ${run.status}; its workspace is created when the experiment starts`);
    const root = path.join(deps.config.MLR_DATA_DIR, 'workspaces', run.id);
    return {
      codeHash: snap.code_hash, starterHash: run.starter_hash, diff: snap.diff,
      files: Object.entries(snap.manifest).map(([p, sha256]) => ({ path: p, sha256, bytes: fs.existsSync(path.join(root, p)) ? fs.statSync(path.join(root, p)).size : 0 })),
    };
  });
}

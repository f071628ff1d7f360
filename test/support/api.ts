import type { FastifyInstance } from 'fastify';
import { AUTH } from './harness';

export const SAMPLE_PAPER = `# Scaling Features for Tabular Classifiers

## Abstract
We study logistic regression on small tabular data sets.

## 1 Introduction
Tabular classification is common.

## 2 Related Work
Prior work scales features.

## 3 Method
We train logistic regression on raw features.

## 4 Experiments
We report accuracy on iris.

## 5 Limitations
Only one data set.
`;

/** The section kinds detected in SAMPLE_PAPER, in order. */
export const SAMPLE_SECTION_KINDS = [
  'other',
  'abstract',
  'introduction',
  'related_work',
  'method',
  'experiments',
  'limitations',
];

export async function submitPaper(app: FastifyInstance, content = SAMPLE_PAPER): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/papers',
    headers: AUTH,
    payload: { content, format: 'markdown' },
  });
  if (res.statusCode !== 201 && res.statusCode !== 200)
    throw new Error(`paper upload failed: ${res.statusCode} ${res.body}`);
  return res.json().id as string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** Creates a run; unless the body says otherwise it stops after approval (the idea stage alone). */
export async function createRun(
  app: FastifyInstance,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Json> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/runs',
    headers: { ...AUTH, ...headers },
    payload: { until: 'approved', ...body },
  });
  if (res.statusCode !== 201) throw new Error(`run creation failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

export async function getRun(app: FastifyInstance, id: string): Promise<Json> {
  const res = await app.inject({ method: 'GET', url: `/v1/runs/${id}`, headers: AUTH });
  return res.json();
}

/** Polls the API until the run reaches the status; fails with the last seen state. */
/** An autonomous one-idea run on the breast-cancer task (the experiment tests' usual run); `over` changes any field. */
export function createTaskRun(
  app: FastifyInstance,
  paperId: string,
  over: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Json> {
  return createRun(
    app,
    { paperId, mode: 'autonomous', ideaCount: 1, until: 'measured', taskId: 'breast-cancer', ...over },
    headers,
  );
}

export async function waitForStatus(
  app: FastifyInstance,
  id: string,
  status: string,
  timeoutMs = 30_000,
): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  let run: Json;
  while (Date.now() < deadline) {
    run = await getRun(app, id);
    if (run.status === status) return run;
    if (
      ['succeeded', 'rejected', 'cancelled', 'failed'].includes(run.status) ||
      (run.status === 'approved' && run.until === 'approved')
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `run ${id} did not reach ${status}; last: ${JSON.stringify({ status: run?.status, error: run?.error })}`,
  );
}

export async function decide(app: FastifyInstance, id: string, body: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: `/v1/runs/${id}/approval`, headers: AUTH, payload: body });
}

import type { FastifyInstance } from 'fastify';
import { HttpError } from '../../errors';
import { renderHtml } from '../../validation/report';
import type { AppDeps } from '../app';
import { errorResponses, uuidParam } from '../schemas';

interface ReportRow {
  data: Record<string, unknown> & { idea: { title: string } };
  markdown: string;
  chart_svg: string;
}

export async function reportRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  async function load(id: string): Promise<ReportRow> {
    const run = await deps.db.query<{ status: string }>('SELECT status FROM runs WHERE id = $1', [id]);
    if (!run.rows[0]) throw new HttpError(404, 'NotFound', `run ${id} not found`);
    const { rows } = await deps.db.query<ReportRow>('SELECT data, markdown, chart_svg FROM reports WHERE run_id = $1', [id]);
    if (!rows[0]) throw new HttpError(409, 'NoReport', `run is ${run.rows[0].status}; the report is written at the end of the validation stage`);
    return rows[0];
  }

  app.get<{ Params: { id: string }; Querystring: { format?: 'markdown' | 'json' } }>('/v1/runs/:id/report', {
    schema: {
      summary: 'The research report: Markdown by default, JSON with ?format=json, HTML for Accept: text/html',
      params: uuidParam,
      querystring: { type: 'object', additionalProperties: false, properties: { format: { type: 'string', enum: ['markdown', 'json'] } } },
      produces: ['text/markdown', 'application/json', 'text/html'],
      response: { 200: {}, ...errorResponses },
    },
  }, async (req, reply) => {
    const report = await load(req.params.id);
    if (req.query.format === 'json') return reply.type('application/json').send(JSON.stringify(report.data));
    if (!req.query.format && (req.headers.accept ?? '').includes('text/html')) {
      return reply.type('text/html; charset=utf-8').send(renderHtml(report.markdown, report.data.idea.title));
    }
    return reply.type('text/markdown; charset=utf-8').send(report.markdown);
  });

  app.get<{ Params: { id: string } }>('/v1/runs/:id/report/chart.svg', {
    schema: { params: uuidParam, produces: ['image/svg+xml'], response: { 200: {}, ...errorResponses } },
  }, async (req, reply) => reply.type('image/svg+xml').send((await load(req.params.id)).chart_svg));
}

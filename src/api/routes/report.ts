import { getReport } from '../../db/reports';
import { HttpError } from '../../errors';
import { renderHtml } from '../../validation/report';
import { loadRunOr404 } from '../access';
import type { RouteDeps } from '../types';
import { errorResponses, uuidParam } from '../schemas';
import type { RoutePlugin } from '../types';

export const reportRoutes: RoutePlugin<RouteDeps> = async (app, deps) => {
  async function load(id: string, principal: Parameters<typeof loadRunOr404>[2]) {
    const run = await loadRunOr404(deps.db, id, principal);
    const report = await getReport<{ idea: { title: string } }>(deps.db, run.id);
    if (!report)
      throw new HttpError(
        409,
        'NoReport',
        `run is ${run.status}; the report is written at the end of the validation stage`,
      );
    return report;
  }

  app.get(
    '/v1/runs/:id/report',
    {
      schema: {
        summary: 'The research report: Markdown by default, JSON with ?format=json, HTML for Accept: text/html',
        params: uuidParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { format: { type: 'string', enum: ['markdown', 'json'] } },
        },
        produces: ['text/markdown', 'application/json', 'text/html'],
        response: { 200: {}, ...errorResponses },
      },
    },
    async (req, reply) => {
      const report = await load(req.params.id, req.principal);
      if (req.query.format === 'json') return reply.type('application/json').send(JSON.stringify(report.data));
      if (!req.query.format && (req.headers.accept ?? '').includes('text/html')) {
        // The page stands on its own: the chart is inlined (a browser sends no bearer token for an <img>).
        const html = renderHtml(report.markdown, report.data.idea.title, report.chart_svg);
        return reply.type('text/html; charset=utf-8').send(html);
      }
      return reply.type('text/markdown; charset=utf-8').send(report.markdown);
    },
  );

  app.get(
    '/v1/runs/:id/report/chart.svg',
    {
      schema: { params: uuidParam, produces: ['image/svg+xml'], response: { 200: {}, ...errorResponses } },
    },
    async (req, reply) => reply.type('image/svg+xml').send((await load(req.params.id, req.principal)).chart_svg),
  );
};

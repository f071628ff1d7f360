// The one way a campaign's or a benchmark's report is asked for and answered: Markdown by default (HTML for a
// browser's Accept), JSON, or the chart alone as SVG; the HTML page inlines the chart (no authenticated <img>).
import type { FastifyReply } from 'fastify';
import { renderHtml } from '../validation/report';
import { errorResponses, uuidParam } from './schemas';

export const reportSchema = (summary: string) =>
  ({
    summary,
    params: uuidParam,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: { format: { type: 'string', enum: ['markdown', 'json', 'html', 'svg'] } },
    },
    produces: ['text/markdown', 'application/json', 'text/html', 'image/svg+xml'],
    response: { 200: {}, ...errorResponses },
  }) as const;

export interface ReportParts {
  title: string;
  json: () => unknown;
  markdown: () => string;
  svg: () => string;
}

export function sendReport(asked: { format?: string; accept?: string }, reply: FastifyReply, parts: ReportParts) {
  const format = asked.format ?? ((asked.accept ?? '').includes('text/html') ? 'html' : 'markdown');
  if (format === 'json') return reply.type('application/json').send(JSON.stringify(parts.json()));
  if (format === 'svg') return reply.type('image/svg+xml').send(parts.svg());
  const markdown = parts.markdown();
  if (format === 'html') {
    const html = renderHtml(markdown, parts.title).replace('</body>', () => `<figure>${parts.svg()}</figure></body>`);
    return reply.type('text/html; charset=utf-8').send(html);
  }
  return reply.type('text/markdown; charset=utf-8').send(markdown);
}

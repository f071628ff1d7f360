import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { listPapers, upsertPaper } from '../../db/papers';
import { scopeOf } from '../../domain/user';
import { HttpError } from '../../errors';
import type { IngestedPaper } from '../../papers/ingest';
import { loadPaperOr404 } from '../access';
import type { RouteDeps } from '../types';
import { errorResponses, pageQuery, paperSchema, paperSummarySchema, uuidParam } from '../schemas';
import type { RoutePlugin } from '../types';
import { decodeCursor, encodeCursor, paperSummaryView, paperView } from '../views';

const jsonPaperBody = {
  type: 'object',
  required: ['content', 'format'],
  additionalProperties: false,
  properties: {
    title: { type: 'string', maxLength: 300 },
    content: { type: 'string' },
    format: { type: 'string', enum: ['markdown', 'text'] },
  },
} as const;

const ajv = addFormats(new Ajv({ allErrors: false }));

/**
 * The JSON body schema applies to JSON requests only: a multipart upload arrives with no parsed body
 * and is checked in the handler, where the file is read.
 */
const jsonOrMultipart: FastifySchemaCompiler<unknown> = ({ schema }) => {
  const validate = ajv.compile(schema as object);
  return (data) => {
    if (data === undefined || data === null || validate(data)) return { value: data };
    return { error: new Error(ajv.errorsText(validate.errors, { dataVar: 'body' })) };
  };
};

export const paperRoutes: RoutePlugin<RouteDeps> = async (app, deps) => {
  app.post(
    '/v1/papers',
    {
      schema: {
        summary: 'Submit a paper as JSON, or as a multipart upload with a `file` field (PDF, Markdown or text)',
        consumes: ['application/json', 'multipart/form-data'],
        body: jsonPaperBody,
        response: { 200: paperSummarySchema, 201: paperSummarySchema, ...errorResponses },
      },
      validatorCompiler: jsonOrMultipart,
    },
    async (req, reply) => {
      let ingested: IngestedPaper;
      if (req.isMultipart()) {
        const file = await req.file();
        if (!file) throw new HttpError(400, 'MissingFile', 'multipart upload needs a "file" field');
        const buf = await file.toBuffer();
        const title = (file.fields.title as { value?: string } | undefined)?.value;
        ingested = await deps.ingestor.file(
          buf,
          file.filename ?? 'upload',
          typeof title === 'string' ? title.slice(0, 300) : undefined,
        );
      } else {
        if (!req.body) throw new HttpError(400, 'MissingBody', 'send JSON {content, format} or a multipart "file"');
        ingested = await deps.ingestor.text(req.body.content, req.body.format, req.body.title);
      }
      const { paper, created } = await upsertPaper(deps.db, { ...ingested, owner: req.principal.name });
      return reply.code(created ? 201 : 200).send(paperSummaryView(paper));
    },
  );

  app.get(
    '/v1/papers',
    {
      schema: {
        querystring: pageQuery,
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: paperSummarySchema },
              nextCursor: { type: ['string', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 20;
      const rows = await listPapers(deps.db, scopeOf(req.principal), limit, decodeCursor(req.query.cursor));
      return {
        items: rows.map(paperSummaryView),
        nextCursor: rows.length === limit ? encodeCursor(rows[rows.length - 1]!) : null,
      };
    },
  );

  app.get(
    '/v1/papers/:id',
    {
      schema: { params: uuidParam, response: { 200: paperSchema, ...errorResponses } },
    },
    async (req) => paperView(await loadPaperOr404(deps.db, req.params.id, req.principal)),
  );
};

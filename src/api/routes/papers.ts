import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { getPaper, listPapers, upsertPaper } from '../../db/papers';
import { HttpError } from '../../errors';
import { ingestFile, ingestText, type IngestedPaper } from '../../papers/ingest';
import { errorResponses, paperSchema, paperSummarySchema, uuidParam } from '../schemas';
import { decodeCursor, encodeCursor, paperSummaryView, paperView } from '../views';
import type { AppDeps } from '../app';

interface JsonPaper {
  title?: string;
  content: string;
  format: 'markdown' | 'text';
}

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

export async function paperRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  app.post('/v1/papers', {
    schema: {
      summary: 'Submit a paper as JSON, or as a multipart upload with a `file` field (PDF, Markdown or text)',
      consumes: ['application/json', 'multipart/form-data'],
      body: jsonPaperBody,
      response: { 200: paperSummarySchema, 201: paperSummarySchema, ...errorResponses },
    },
    validatorCompiler: jsonOrMultipart,
  }, async (req, reply) => {
    let ingested: IngestedPaper;
    if (req.isMultipart()) {
      const file = await req.file();
      if (!file) throw new HttpError(400, 'MissingFile', 'multipart upload needs a "file" field');
      const buf = await file.toBuffer();
      const title = (file.fields.title as { value?: string } | undefined)?.value;
      ingested = await ingestFile(buf, file.filename ?? 'upload', typeof title === 'string' ? title : undefined);
    } else {
      if (!req.body) throw new HttpError(400, 'MissingBody', 'send JSON {content, format} or a multipart "file"');
      const body = req.body as JsonPaper;
      ingested = ingestText(body.content, body.format, body.title);
    }
    const { paper, created } = await upsertPaper(deps.db, ingested);
    return reply.code(created ? 201 : 200).send(paperSummaryView(paper));
  });

  app.get<{ Querystring: { cursor?: string; limit?: number } }>('/v1/papers', {
    schema: {
      querystring: { type: 'object', properties: { cursor: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 } } },
      response: { 200: { type: 'object', properties: { items: { type: 'array', items: paperSummarySchema }, nextCursor: { type: ['string', 'null'] } } }, ...errorResponses },
    },
  }, async (req) => {
    const limit = req.query.limit ?? 20;
    const rows = await listPapers(deps.db, limit, decodeCursor(req.query.cursor));
    return { items: rows.map(paperSummaryView), nextCursor: rows.length === limit ? encodeCursor(rows[rows.length - 1]!) : null };
  });

  app.get<{ Params: { id: string } }>('/v1/papers/:id', {
    schema: { params: uuidParam, response: { 200: paperSchema, ...errorResponses } },
  }, async (req) => {
    const paper = await getPaper(deps.db, req.params.id);
    if (!paper) throw new HttpError(404, 'NotFound', `paper ${req.params.id} not found`);
    return paperView(paper);
  });
}

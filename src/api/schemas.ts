// JSON schemas shared by the routes; fastify validates bodies with them and serialises responses.
import { RUN_STATUSES } from '../domain/run-input';

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

export const uuidParam = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
} as const;

export const experimentParams = {
  type: 'object',
  required: ['id', 'eid'],
  properties: { id: { type: 'string', format: 'uuid' }, eid: { type: 'string', format: 'uuid' } },
} as const;

export const freeObject = { type: 'object', additionalProperties: true } as const;
const nullableFreeObject = { type: ['object', 'null'], additionalProperties: true } as const;

export const sectionSchema = {
  type: 'object',
  properties: {
    kind: { type: 'string' },
    heading: { type: 'string' },
    chars: { type: 'integer' },
    text: { type: 'string' },
  },
} as const;

export const paperSummarySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    owner: { type: 'string' },
    title: { type: 'string' },
    format: { type: 'string' },
    contentHash: { type: 'string' },
    bytes: { type: 'integer' },
    createdAt: { type: 'string' },
  },
} as const;

export const paperSchema = {
  type: 'object',
  properties: {
    ...paperSummarySchema.properties,
    content: { type: 'string' },
    sections: { type: 'array', items: sectionSchema },
  },
} as const;

export const ideaSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    round: { type: 'integer' },
    rank: { type: ['integer', 'null'] },
    review: nullableFreeObject,
    title: { type: 'string' },
    problem: { type: 'string' },
    motivation: { type: 'string' },
    hypothesis: { type: 'string' },
    experimentPlan: freeObject,
    noveltyScore: { type: 'number' },
    feasibilityScore: { type: 'number' },
    rationale: { type: 'string' },
  },
} as const;

export const experimentSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    role: { type: 'string' },
    attempt: { type: 'integer' },
    codeHash: { type: 'string' },
    seed: { type: 'integer' },
    script: {
      type: ['string', 'null'],
      description: 'The script it ran (a candidate: the entry point its agent named)',
    },
    status: { type: 'string' },
    exitCode: { type: ['integer', 'null'] },
    durationMs: { type: ['integer', 'null'] },
    peakMemoryMb: { type: ['number', 'null'] },
    metrics: nullableFreeObject,
    error: { type: ['string', 'null'] },
    logTail: { type: ['string', 'null'] },
    networkIsolated: { type: ['boolean', 'null'] },
    sandbox: { type: ['string', 'null'] },
    executor: { type: ['string', 'null'] },
    placement: {
      type: ['object', 'null'],
      properties: {
        job: { type: 'string' },
        node: { type: 'string' },
        gpu: { type: 'string' },
        queuedMs: { type: 'number' },
        startedAt: { type: 'string' },
      },
    },
  },
} as const;

/** What the ledger counts: settled costs plus live reservations. */
export const spendSchema = {
  type: 'object',
  properties: {
    usd: { type: 'number' },
    tokens: { type: 'number' },
    gpuHours: { type: 'number' },
    cpuHours: { type: 'number' },
  },
} as const;

/** A budget, or a top-up of one: at least one positive amount. */
export const budgetSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    usd: { type: 'number', exclusiveMinimum: 0, maximum: 1e9 },
    tokens: { type: 'integer', minimum: 1, maximum: 1e13 },
    gpuHours: { type: 'number', exclusiveMinimum: 0, maximum: 1e9 },
    cpuHours: { type: 'number', exclusiveMinimum: 0, maximum: 1e9 },
  },
} as const;

/** One page of a list: its items and the cursor of the next page (null at the end). */
export const pageSchema = <T extends object>(items: T) =>
  ({
    type: 'object',
    properties: { items: { type: 'array', items }, nextCursor: { type: ['string', 'null'] } },
  }) as const;

export const runSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    owner: { type: 'string' },
    status: { type: 'string', enum: RUN_STATUSES },
    paperId: { type: ['string', 'null'] },
    mode: { type: 'string' },
    ideaCount: { type: 'integer' },
    approvalTimeout: nullableFreeObject,
    round: { type: 'integer' },
    taskDefinition: nullableFreeObject,
    gaps: { type: ['array', 'null'], items: freeObject },
    keywords: { type: ['array', 'null'], items: { type: 'string' } },
    relatedWork: { type: ['array', 'null'], items: freeObject },
    retrieval: nullableFreeObject,
    ideas: { type: 'array', items: ideaSchema },
    selectedIdeaId: { type: ['string', 'null'] },
    until: { type: 'string' },
    taskId: { type: ['string', 'null'] },
    paused: { type: 'boolean' },
    experiments: { type: 'array', items: experimentSchema },
    hub: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          kind: { type: 'string' },
          id: { type: 'string' },
          revision: { type: 'string' },
          files: { type: 'array', items: { type: 'string' } },
          bytes: { type: 'integer' },
          licence: { type: ['string', 'null'] },
        },
      },
    },
    result: nullableFreeObject,
    validation: nullableFreeObject,
    usage: {
      type: 'object',
      properties: {
        promptTokens: { type: 'integer' },
        completionTokens: { type: 'integer' },
        costUsd: { type: 'number' },
      },
    },
    spend: spendSchema,
    budget: nullableFreeObject,
    campaign: {
      type: ['object', 'null'],
      properties: { id: { type: 'string' }, slot: { type: 'integer' }, ideaRank: { type: ['integer', 'null'] } },
    },
    error: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

/** Error responses every /v1 route can give. */
export const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  404: errorSchema,
  409: errorSchema,
  413: errorSchema,
  422: errorSchema,
  429: errorSchema,
  500: errorSchema,
  503: errorSchema,
} as const;

export const pageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cursor: { type: 'string', maxLength: 200 },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  },
} as const;

/** The optional Idempotency-Key header of the routes that create or change something. */
export const idempotencyHeader = {
  type: 'object',
  properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

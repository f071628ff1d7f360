// Request types derived from the route schemas (fastify/demo's shape, with json-schema-to-ts instead of
// TypeBox so the schemas stay plain JSON Schema): params, querystring, headers and body are typed by the
// schema that validates them. Responses are checked by the serializer at run time, not by the compiler.
import type { FastifyPluginAsync, FastifyPluginOptions, FastifyTypeProvider, RawServerDefault } from 'fastify';
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import type { RunGateway } from '../clients/temporal';
import type { Config } from '../config';
import type { Transactional } from '../db/types';
import type { ArtifactStore } from '../experiments/artifacts';
import type { Logger } from '../logger';
import type { PaperIngestor } from '../papers/ingestor';
import type { RunTimeouts } from '../domain/run-input';
import type { Authenticator } from './auth/authenticator';
import type { EventHub } from './event-hub';

export interface SchemaTypes extends FastifyTypeProvider {
  validator: this['schema'] extends JSONSchema ? FromSchema<this['schema']> : unknown;
  serializer: unknown;
}

/** A route plugin: registered with its dependencies, its requests typed by its schemas. */
export type RoutePlugin<Deps extends FastifyPluginOptions> = FastifyPluginAsync<Deps, RawServerDefault, SchemaTypes>;

export interface AppDeps {
  config: Config;
  db: Transactional;
  gateway: RunGateway;
  /** Activity timeouts handed to every new run. */
  runTimeouts: RunTimeouts;
  /** Where execution logs and file blobs are kept. */
  store: ArtifactStore;
  /** The log of an execution still running remotely (a Kubernetes pod's), by execution key. */
  liveLog?: (execKey: string) => Promise<string | undefined>;
  logger?: Logger;
  ssePollMs?: number;
  /** Built from the config unless given (tests pass one with a short JWKS cache, for example). */
  authenticator?: Authenticator;
}

/** What every route plugin receives: the app's dependencies plus the services the app owns. */
export interface RouteDeps extends AppDeps {
  ingestor: PaperIngestor;
  hub: EventHub;
  campaignHub: EventHub;
  ownerHub: EventHub;
}

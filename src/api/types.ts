// Request types derived from the route schemas (fastify/demo's shape, with json-schema-to-ts instead of
// TypeBox so the schemas stay plain JSON Schema): params, querystring, headers and body are typed by the
// schema that validates them. Responses are checked by the serializer at run time, not by the compiler.
import type { FastifyPluginAsync, FastifyPluginOptions, FastifyTypeProvider, RawServerDefault } from 'fastify';
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';

export interface SchemaTypes extends FastifyTypeProvider {
  validator: this['schema'] extends JSONSchema ? FromSchema<this['schema']> : unknown;
  serializer: unknown;
}

/** A route plugin: registered with its dependencies, its requests typed by its schemas. */
export type RoutePlugin<Deps extends FastifyPluginOptions> = FastifyPluginAsync<Deps, RawServerDefault, SchemaTypes>;

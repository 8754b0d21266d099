import { Hono } from 'hono';
import { z } from 'zod';
import { errorBodySchema, httpStatusOf } from '../../schema/wire/errors.js';
import type { AppEnv } from '../http/app-env.js';
import { methodsOf, routeDocs, type HttpMethod, type RouteDoc } from '../http/route-docs.js';
import { defineRoute, errorsOf, isJsonSchema } from './define-route.js';

/** Where edge/worker.ts mounts the route modules; declared paths are relative to it. */
const API_BASE = '/api';

const SECURITY: Record<RouteDoc['auth'], object[]> = {
  none: [],
  session: [{ session: [] }],
  'optional-session': [{}, { session: [] }],
  admin: [{ admin: [] }],
  node: [{ nodeCredential: [] }],
};

/** Builds the OpenAPI 3.1 document from the routes' own declarations (edge/http/route-docs.ts). */
export function buildOpenApi(routes: readonly RouteDoc[] = routeDocs()): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `${API_BASE}${route.path}`.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    for (const method of methodsOf(route)) (paths[path] ??= {})[method] = operation(route, method);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'edgemeet API', version: '0.1.0', description: 'Errors answer `{ error: { code, message } }` with a stable code (schema/wire/errors.ts).' },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: {
        session: { type: 'http', scheme: 'bearer', description: 'session token from register/login' },
        admin: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
        nodeCredential: { type: 'http', scheme: 'bearer', description: '<nodeId>.<region>.<HMAC-SHA256 of both>' },
      },
      schemas: { Error: jsonSchema(errorBodySchema, 'output') },
    },
  };
}

function operation(route: RouteDoc, method: HttpMethod): Record<string, unknown> {
  const parameters = [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query'), ...parametersOf(route.headers, 'header')];
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(route.responses)) {
    responses[status] = typeof response === 'string' ? { description: response } : { description: 'OK', content: { 'application/json': { schema: jsonSchema(response, 'output') } } };
  }
  const errors = errorsOf(route);
  for (const status of new Set(errors.map(httpStatusOf))) {
    const codes = errors.filter((code) => httpStatusOf(code) === status);
    responses[String(status)] = { description: codes.join(', '), content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  return {
    summary: route.summary,
    tags: [route.tag],
    operationId: `${method}${`${API_BASE}${route.path}`.replace(/[^A-Za-z0-9]+(.)?/g, (_, next: string | undefined) => (next ? next.toUpperCase() : ''))}`,
    security: SECURITY[route.auth],
    ...(route.websocket ? { 'x-websocket': true } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(route.body ? { requestBody: requestBody(route) } : {}),
    responses,
  };
}

function requestBody({ body, bodyOptional }: RouteDoc): Record<string, unknown> {
  if (isJsonSchema(body)) return { required: !bodyOptional, content: { 'application/json': { schema: jsonSchema(body, 'input') } } };
  if (!body) return {};
  const binary = { schema: { type: 'string', format: 'binary' } };
  return { required: true, description: body.description, content: Object.fromEntries(body.contentTypes.map((type) => [type, binary])) };
}

function parametersOf(schema: z.ZodObject | undefined, location: 'path' | 'query' | 'header'): Record<string, unknown>[] {
  if (!schema) return [];
  const json = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    schema: property,
  }));
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
}

let cached: Record<string, unknown> | undefined;

export const openApiRoutes = new Hono<AppEnv>();

defineRoute(openApiRoutes, { method: 'get', path: '/openapi.json', tag: 'meta', summary: 'This OpenAPI document', auth: 'none', responses: { 200: 'OpenAPI 3.1 document' } }, (c) =>
  c.json((cached ??= buildOpenApi())),
);

import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { AppError, type ErrorCode } from '../../schema/wire/errors.js';
import type { AppEnv } from '../http/app-env.js';
import { methodsOf, recordRouteDoc, type RouteDoc, type RouteInput } from '../http/route-docs.js';
import { parseJsonBody, parseWith } from '../http/validate.js';
import { authenticate } from './guards.js';

export type RouteHandler<D extends RouteDoc> = (c: Context<AppEnv>, input: RouteInput<D>) => Response | Promise<Response>;

/**
 * Declares an API route once: registers it on `app` and records its doc for /api/openapi.json.
 * Before the handler runs, the declared auth is enforced and params, query, headers and a JSON
 * body are parsed — in that order — with the declared schemas, so what is documented is what is
 * checked. Bad JSON answers BAD_REQUEST, a mismatch VALIDATION_FAILED, a JSON body over its cap
 * PAYLOAD_TOO_LARGE (edge/http/validate.ts);
 * a WebSocket route refuses a request that is not an upgrade.
 */
export function defineRoute<const D extends RouteDoc>(app: Hono<AppEnv>, doc: D, handler: RouteHandler<D>): void {
  recordRouteDoc(doc);
  app.on(
    methodsOf(doc).map((method) => method.toUpperCase()),
    doc.path,
    async (c) => {
      const principal = await authenticate(c, doc.auth);
      const params = doc.params && parseWith(doc.params, c.req.param());
      const query = doc.query && parseWith(doc.query, c.req.query());
      const headers = doc.headers && parseWith(doc.headers, c.req.header());
      const body = isJsonSchema(doc.body) ? await parseJsonBody(c, doc.body, { optional: doc.bodyOptional, maxBytes: doc.maxBodyBytes }) : undefined;
      if (doc.websocket && c.req.header('Upgrade')?.toLowerCase() !== 'websocket') throw new AppError('BAD_REQUEST', 'this endpoint takes a WebSocket upgrade');
      // TypeScript cannot follow these outputs through RouteInput's conditional types; they are
      // exactly the outputs of the schemas D declares, parsed just above.
      const input = { ...principal, params, query, headers, body } as RouteInput<D>;
      return handler(c, input);
    },
  );
}

/** The error codes a route may answer: its own, and those its auth and parsing imply. */
export function errorsOf(doc: RouteDoc): ErrorCode[] {
  const implied: ErrorCode[] = [];
  if (doc.auth === 'session' || doc.auth === 'admin') implied.push('UNAUTHENTICATED');
  if (doc.auth === 'node') implied.push('INVALID_CREDENTIALS');
  if (isJsonSchema(doc.body) || doc.websocket) implied.push('BAD_REQUEST');
  if (isJsonSchema(doc.body)) implied.push('PAYLOAD_TOO_LARGE');
  if (doc.params || doc.query || doc.headers || isJsonSchema(doc.body)) implied.push('VALIDATION_FAILED');
  return [...new Set([...implied, ...(doc.errors ?? [])])];
}

export function isJsonSchema(body: RouteDoc['body']): body is z.ZodType {
  return body instanceof z.ZodType;
}

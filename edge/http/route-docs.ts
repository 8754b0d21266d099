import type { z } from 'zod';

/**
 * One row of the API route table that /api/openapi.json is generated from. Schemas are the same
 * zod schemas the routes parse with (schema/wire), so the document cannot drift from the code.
 */
export type HttpMethod = 'get' | 'head' | 'post' | 'put' | 'patch' | 'delete';
export type RouteAuth = 'none' | 'session' | 'optional-session' | 'admin' | 'node';

export interface RouteDoc {
  method: HttpMethod;
  /** Hono-style path under /api, e.g. `/api/meetings/:linkId`. */
  path: string;
  summary: string;
  tag: string;
  auth: RouteAuth;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** JSON body schema, or a raw body's content types. */
  body?: z.ZodType | { contentTypes: string[]; description: string };
  /** Success responses: a JSON schema, or a description for non-JSON answers. */
  responses: Record<number, z.ZodType | string>;
  /** Error codes this route may answer (see schema/wire/errors.ts). */
  errors?: string[];
  /** Upgrades to a WebSocket. */
  websocket?: boolean;
}

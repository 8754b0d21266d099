import type { RegionId } from '../../schema/regions.js';
import type { z } from 'zod';
import type { ErrorCode } from '../../schema/wire/errors.js';
import type { User } from '../../schema/wire/http.js';

/**
 * What an API route declares about itself. edge/routes/define-route.ts registers the route from
 * this declaration — it enforces `auth` and parses params, query, headers and body with these very
 * schemas before the handler runs — and /api/openapi.json is built from the same declarations,
 * so the document cannot drift from the code.
 */
export type HttpMethod = 'get' | 'head' | 'post' | 'put' | 'patch' | 'delete';
export type RouteAuth = 'none' | 'session' | 'optional-session' | 'admin' | 'node';

/** A body the handler reads itself (bytes, not JSON): documented, never parsed by the helper. */
export interface RawBody {
  readonly contentTypes: readonly string[];
  readonly description: string;
}

export interface RouteDoc {
  readonly method: HttpMethod | readonly HttpMethod[];
  /** Hono-style path below /api, e.g. `/meetings/:linkId`. */
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly auth: RouteAuth;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  /** Request headers the route needs, by lower-case name. */
  readonly headers?: z.ZodObject;
  /** A JSON body schema, or a raw body's content types. */
  readonly body?: z.ZodType | RawBody;
  /** A JSON body may be left out; an empty body is then parsed as `{}`. */
  readonly bodyOptional?: boolean;
  /** Cap of a JSON body in bytes when it is not JSON_BODY_MAX_BYTES (schema/wire/http.ts). */
  readonly maxBodyBytes?: number;
  /** Success responses: a JSON schema, or a description for answers that are not JSON. */
  readonly responses: Readonly<Record<number, z.ZodType | string>>;
  /** Error codes of the route's own logic; those its auth and parsing imply are added for it. */
  readonly errors?: readonly ErrorCode[];
  /** Upgrades to a WebSocket. */
  readonly websocket?: boolean;
}

/** Who made the request, as the route's `auth` established it. */
type PrincipalOf<A extends RouteAuth> = A extends 'session'
  ? { user: User }
  : A extends 'optional-session'
    ? { user: User | undefined }
    : A extends 'node'
      ? { nodeId: string; nodeRegion: RegionId }
      : Record<never, never>;

type Parsed<D, K extends 'params' | 'query' | 'headers' | 'body'> = D extends { readonly [P in K]: infer S extends z.ZodType } ? z.output<S> : undefined;

/** What a route's handler receives: its declared inputs, parsed, and who asked. */
export type RouteInput<D extends RouteDoc> = {
  params: Parsed<D, 'params'>;
  query: Parsed<D, 'query'>;
  headers: Parsed<D, 'headers'>;
  body: Parsed<D, 'body'>;
} & PrincipalOf<D['auth']>;

const declared: RouteDoc[] = [];

/** Called once per route by defineRoute. */
export function recordRouteDoc(doc: RouteDoc): void {
  declared.push(doc);
}

/** Every route declared so far (all of them once edge/worker.ts has loaded its route modules). */
export function routeDocs(): readonly RouteDoc[] {
  return declared;
}

export function methodsOf(doc: RouteDoc): readonly HttpMethod[] {
  return typeof doc.method === 'string' ? [doc.method] : doc.method;
}

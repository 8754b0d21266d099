import { z } from 'zod';
import { NODE_HEARTBEAT_TIMEOUT_MS } from '../schema/wire/node-control.js';
import { iceServerSchema } from '../schema/wire/room.js';
import type { RegionId } from '../schema/regions.js';
import { parseDefaultRegion } from './registry/region-choice.js';
import { parseRegistryShards } from './registry/shards.js';

/** An unset or empty variable: both mean "not configured". */
const unset = (value: unknown) => (value === '' ? undefined : value);
const optionalText = z.preprocess(unset, z.string().optional());

/**
 * The Worker's configuration variables and secrets (wrangler.toml [vars], `wrangler secret put`,
 * .dev.vars locally). Bindings (ROOM, FILES …) are not configuration: see edge/durable-objects.ts.
 */
const edgeVariablesSchema = z.object({
  DATABASE_URL: optionalText,
  /** Local only: host:port/path of the WebSocket↔TCP relay the Neon driver tunnels through. */
  DB_WS_PROXY: optionalText,
  MEDIA_TOKEN_PRIVATE_JWK: optionalText,
  NODE_CREDENTIAL_SECRET: optionalText,
  ADMIN_TOKEN: optionalText,
  URL_SIGNING_SECRET: optionalText,
  PUBLIC_URL: optionalText,
  DEFAULT_REGION: optionalText,
  NODE_HEARTBEAT_TIMEOUT_MS: z.preprocess(unset, z.coerce.number().int().min(100).max(600_000).default(NODE_HEARTBEAT_TIMEOUT_MS)),
  RECORDINGS_VISIBILITY: z.preprocess(unset, z.enum(['host', 'participants']).default('participants')),
  /** Shared with the TURN servers (coturn `static-auth-secret`); unset: no TURN relay is offered. */
  TURN_SECRET: optionalText,
  /** Comma-separated TURN URLs, e.g. `turn:turn.example.com:3478?transport=udp,turns:turn.example.com:443?transport=tcp`. */
  TURN_URLS: optionalText,
  /**
   * RegionDO shards per region (edge/registry/shards.ts): `plan` (each media region's capacity-plan
   * nodes / 128), `lon=3,bom=2`, or both (later entries win). Unset: one RegionDO per region.
   */
  REGISTRY_SHARDS: optionalText,
  /**
   * Local runs only (`npm start`, the e2e stack): take the client's location from the
   * X-Edgemeet-Location header instead of request.cf, so one machine can play people in several
   * places. Never set in production: clients would choose their media region.
   */
  TRUST_LOCATION_HEADER: z.preprocess(unset, z.enum(['true', 'false']).default('false')),
});

export interface EdgeConfig {
  /** Postgres connection string for the Neon driver. */
  readonly databaseUrl: string;
  /** The relay the Neon driver tunnels through (local runs); null: Neon's own proxy. */
  readonly dbWsProxy: string | null;
  /** ES256 private key (JWK JSON) that signs media tokens; nodes hold the public half. */
  readonly mediaTokenPrivateJwk: string;
  /** Master secret per-node credentials are derived from: HMAC-SHA256(secret, nodeId). */
  readonly nodeCredentialSecret: string;
  /** Bearer token of the fleet API; null: the fleet API refuses everyone. */
  readonly adminToken: string | null;
  /** Secret for signed, expiring download links. */
  readonly urlSigningSecret: string;
  /** Public base URL for links, without a trailing slash; null: use the request's origin. */
  readonly publicUrl: string | null;
  /** Region for requests without a location (London when unset or unknown). */
  readonly defaultRegion: RegionId;
  /** A node silent this long is marked down. */
  readonly heartbeatTimeoutMs: number;
  /** Who may list and download a meeting's recordings besides its host. */
  readonly recordingsVisibility: 'host' | 'participants';
  /** The TURN relay offered to browsers (both TURN_SECRET and TURN_URLS set), else null. */
  readonly turn: { readonly secret: string; readonly urls: readonly string[] } | null;
  /** How many RegionDO shards hold this region's media-node registry (1 unless configured). */
  readonly registryShards: (region: RegionId) => number;
  /** Local runs: the X-Edgemeet-Location header stands in for request.cf's location. */
  readonly trustLocationHeader: boolean;
}

/** A secret the code needs but the deployment lacks; names the variable to set. */
export class MissingConfigError extends Error {
  constructor(readonly variable: string) {
    super(`${variable} is not set (wrangler secret put ${variable}, or .dev.vars locally)`);
    this.name = 'MissingConfigError';
  }
}

function required(variable: string, value: string | undefined): string {
  if (value === undefined) throw new MissingConfigError(variable);
  return value;
}

const parsedConfigs = new WeakMap<object, EdgeConfig>();

/**
 * The edge configuration, parsed once per env object (per isolate). Malformed values fail here,
 * naming the variable; a missing secret fails where it is first needed, so a Worker that serves
 * only some routes (tests, tools) runs without the secrets of the others.
 */
export function edgeConfig(env: Env): EdgeConfig {
  const cached = parsedConfigs.get(env);
  if (cached) return cached;
  const parsed = edgeVariablesSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`edge configuration is invalid: ${problems}`);
  }
  const vars = parsed.data;
  const config: EdgeConfig = Object.freeze({
    get databaseUrl() {
      return required('DATABASE_URL', vars.DATABASE_URL);
    },
    dbWsProxy: vars.DB_WS_PROXY?.replace(/\/+$/, '') ?? null,
    get mediaTokenPrivateJwk() {
      return required('MEDIA_TOKEN_PRIVATE_JWK', vars.MEDIA_TOKEN_PRIVATE_JWK);
    },
    get nodeCredentialSecret() {
      return required('NODE_CREDENTIAL_SECRET', vars.NODE_CREDENTIAL_SECRET);
    },
    adminToken: vars.ADMIN_TOKEN ?? null,
    get urlSigningSecret() {
      return required('URL_SIGNING_SECRET', vars.URL_SIGNING_SECRET);
    },
    publicUrl: vars.PUBLIC_URL?.replace(/\/+$/, '') ?? null,
    defaultRegion: parseDefaultRegion(vars.DEFAULT_REGION),
    heartbeatTimeoutMs: vars.NODE_HEARTBEAT_TIMEOUT_MS,
    recordingsVisibility: vars.RECORDINGS_VISIBILITY,
    turn: turnConfig(vars.TURN_SECRET, vars.TURN_URLS),
    registryShards: parseRegistryShards(vars.REGISTRY_SHARDS),
    trustLocationHeader: vars.TRUST_LOCATION_HEADER === 'true',
  });
  parsedConfigs.set(env, config);
  return config;
}

function turnConfig(secret: string | undefined, urls: string | undefined): EdgeConfig['turn'] {
  const list = (urls ?? '').split(',').map((url) => url.trim()).filter((url) => url.length > 0);
  if (secret === undefined || list.length === 0) return null;
  const bad = list.find((url) => !/^turns?:/.test(url));
  if (bad) throw new Error(`edge configuration is invalid: TURN_URLS: ${bad} is not a turn: or turns: URL`);
  // Refused here, at deploy, rather than by every browser: the join answer carries these URLs in
  // one ICE server, and a list the wire refuses fails every join ("unexpected answer").
  const fits = iceServerSchema.shape.urls.safeParse(list);
  if (!fits.success) throw new Error(`edge configuration is invalid: TURN_URLS: ${fits.error.issues.map((issue) => issue.message).join('; ')} (at most 8 URLs of at most 300 characters)`);
  return Object.freeze({ secret, urls: Object.freeze(list) });
}

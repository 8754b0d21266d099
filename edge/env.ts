import type { HistoryMessage } from '../schema/wire/history.js';
import type { RoomDO } from './room/room-do.js';
import type { RegionDO } from './registry/region-do.js';
import type { AccountDO } from './auth/account-do.js';
import type { RateLimiterDO } from './auth/rate-limiter-do.js';

/** Bindings and variables of the Worker (wrangler.toml + secrets). Read only through this type. */
export interface Env {
  ROOM: DurableObjectNamespace<RoomDO>;
  REGION: DurableObjectNamespace<RegionDO>;
  ACCOUNT: DurableObjectNamespace<AccountDO>;
  /** Failure windows for keys that are not accounts (login attempts per client IP). */
  LIMITER: DurableObjectNamespace<RateLimiterDO>;
  /** History records (one per message, or packed in arrays) for the Postgres consumer. */
  HISTORY: Queue<HistoryMessage>;
  /** Dead letters of HISTORY: records the consumer cannot parse are forwarded here. */
  HISTORY_DLQ: Queue<unknown>;
  FILES: R2Bucket;
  ASSETS: Fetcher;
  /** Postgres connection string for the Neon driver. */
  DATABASE_URL: string;
  /** Local only: host:port/path of the WebSocket↔TCP relay the Neon driver tunnels through. */
  DB_WS_PROXY?: string;
  /** ES256 private key (JWK JSON) that signs media tokens; nodes hold the public half. */
  MEDIA_TOKEN_PRIVATE_JWK: string;
  /** Master secret per-node credentials are derived from: HMAC-SHA256(secret, nodeId). */
  NODE_CREDENTIAL_SECRET: string;
  /** Bearer token of the fleet API. */
  ADMIN_TOKEN: string;
  /** Secret for signed, expiring download links. */
  URL_SIGNING_SECRET: string;
  /** Public base URL for join links (defaults to the request's origin). */
  PUBLIC_URL?: string;
  /** Region for requests without a location (local runs). */
  DEFAULT_REGION?: string;
  NODE_HEARTBEAT_TIMEOUT_MS?: string;
  /** Who may list/download a meeting's recordings: 'host' or 'participants' (default). */
  RECORDINGS_VISIBILITY?: string;
}

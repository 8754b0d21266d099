import { Client } from '@neondatabase/serverless';
import { drizzle, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import * as tables from '../../schema/db/index.js';
import { edgeConfig } from '../config.js';
import { RetryLaterError } from '../http/errors.js';
import { describeError, log } from '../http/log.js';

export type Db = NeonDatabase<typeof tables>;
/** Where to connect: the edge configuration's, or explicit values (tests, tools). */
export interface DbTarget {
  databaseUrl: string;
  /** The WebSocket↔TCP relay (local runs), without a trailing slash; null: Neon's own proxy. */
  dbWsProxy: string | null;
}

let connectionsOpened = 0;

/**
 * How many Postgres connections this isolate has opened (each withDb call opens one). Tests read
 * it to prove a path stays off Postgres; the Worker, its Durable Objects and the tests share one
 * isolate under the vitest pool.
 */
export function postgresConnectionsOpened(): number {
  return connectionsOpened;
}

/**
 * One Postgres connection for the duration of `work` (Workers cannot share sockets between
 * requests). In production the Neon driver speaks WebSocket to Neon's proxy; locally
 * DB_WS_PROXY points it at scripts/pg-relay.ts. Never used on the join hot path.
 */
export async function withDb<T>(source: Env | DbTarget, work: (db: Db) => Promise<T>): Promise<T> {
  const { databaseUrl, dbWsProxy: proxy } = 'databaseUrl' in source ? source : edgeConfig(source);
  const client = new Client({ connectionString: databaseUrl });
  connectionsOpened++;
  if (proxy) {
    client.neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
    client.neonConfig.useSecureWebSocket = false;
    client.neonConfig.pipelineTLS = false;
    client.neonConfig.pipelineConnect = false;
  }
  // A connect failure must not leave an unhandled 'error' event behind.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    // Postgres away (outage, failover): a clear 503 for routes; the queue consumer retries.
    log('warn', 'db.connect_failed', { error: describeError(error) });
    throw new RetryLaterError('the database is unreachable right now; try again shortly', 5, 'DATABASE_UNAVAILABLE');
  }
  try {
    return await work(drizzle({ client, schema: tables }));
  } finally {
    await client.end().catch(() => {});
  }
}

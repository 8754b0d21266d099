import { Client } from '@neondatabase/serverless';
import { drizzle, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import * as tables from '../../schema/db/index.js';
import type { Env } from '../env.js';
import { RetryLaterError } from '../http/errors.js';
import { describeError, log } from '../http/log.js';

export type Db = NeonDatabase<typeof tables>;
export type DbEnv = Pick<Env, 'DATABASE_URL' | 'DB_WS_PROXY'>;

/**
 * One Postgres connection for the duration of `work` (Workers cannot share sockets between
 * requests). In production the Neon driver speaks WebSocket to Neon's proxy; locally
 * DB_WS_PROXY points it at scripts/pg-relay.ts. Never used on the join hot path.
 */
export async function withDb<T>(env: DbEnv, work: (db: Db) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: env.DATABASE_URL });
  if (env.DB_WS_PROXY) {
    const proxy = env.DB_WS_PROXY.replace(/\/+$/, '');
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

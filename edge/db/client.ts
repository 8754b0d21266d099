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
 * How long one withDb call may take, connecting included. A database that stops answering (a
 * frozen or partitioned server, a stuck proxy: the connection is accepted and then nothing) would
 * otherwise hold the request, and whatever waits on it, for as long as the socket lives; past
 * this the caller gets DATABASE_UNAVAILABLE (503, Retry-After) and the queue consumer retries.
 * Every call is a few short statements (history batches included), so a healthy one is far below.
 */
export const DB_DEADLINE_MS = 10_000;
/** After the deadline, how long a frozen server may take to take the connection's close. */
const CLOSE_WAIT_MS = 1_000;

const unavailable = (why: string) => new RetryLaterError(`the database ${why}; try again shortly`, 5, 'DATABASE_UNAVAILABLE');

/**
 * One Postgres connection for the duration of `work` (Workers cannot share sockets between
 * requests). In production the Neon driver speaks WebSocket to Neon's proxy; locally
 * DB_WS_PROXY points it at scripts/pg-relay.ts. Never used on the join hot path.
 */
export async function withDb<T>(source: Env | DbTarget, work: (db: Db) => Promise<T>, deadlineMs = DB_DEADLINE_MS): Promise<T> {
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
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = unavailable(`did not answer within ${deadlineMs / 1000} s`);
      log('warn', 'db.deadline', { error: error.message });
      reject(error);
    }, deadlineMs);
  });
  try {
    try {
      await Promise.race([client.connect(), deadline]);
    } catch (error) {
      if (error instanceof RetryLaterError) throw error; // the deadline, logged as such
      // Postgres away (outage, failover): a clear 503 for routes; the queue consumer retries.
      log('warn', 'db.connect_failed', { error: describeError(error) });
      throw unavailable('is unreachable right now');
    }
    return await Promise.race([work(drizzle({ client, schema: tables })), deadline]);
  } finally {
    clearTimeout(timer);
    // A server that stopped answering may never acknowledge the close either.
    await Promise.race([client.end().catch(() => {}), new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS))]);
  }
}

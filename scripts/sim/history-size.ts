import { drizzle } from 'drizzle-orm/neon-serverless';
import pg from 'pg';
import { z } from 'zod';
import * as tables from '../../schema/db/index.js';
import { writeHistory } from '../../edge/db/history-writer.js';
import { runMigrations } from '../db-migrate.js';
import { startPgRelay } from '../pg-relay.js';
import { relayedNeonClient } from '../pg-relay-client.js';
import { meetingRecords } from './history-sample.js';
import { Rng } from './rng.js';

const tableSizeSchema = z.object({ rows: z.number(), heapBytes: z.number(), indexBytes: z.number(), bytesPerRow: z.number() });

/** Bytes per row of each history table, measured in a real Postgres after writing a sample day (cached in bench-results). */
export const rowSizesSchema = z.object({
  meetings: z.number(),
  postgres: z.string(),
  tables: z.object({ participants: tableSizeSchema, messages: tableSizeSchema, analytics_events: tableSizeSchema }),
});
export type RowSizes = z.infer<typeof rowSizesSchema>;

const TABLES = ['participants', 'messages', 'analytics_events'] as const;

/**
 * Writes `meetings` meetings' history into a fresh database `database` of the cluster at
 * `serverUrl` through the real queue writer (edge/db/history-writer.ts, Neon driver over the
 * local relay, as in the Worker), then measures heap (with TOAST) and index bytes, summed over
 * partitions. The database is dropped afterwards.
 */
export async function measureRowSizes(serverUrl: string, meetings: number, database = 'edgemeet_row_sizes'): Promise<RowSizes> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  try {
    await runMigrations(url.toString());
    await writeSampleDay(url, meetings);
    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    try {
      await db.query('VACUUM ANALYZE');
      const version = (await db.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
      const sizes = {} as RowSizes['tables'];
      for (const table of TABLES) {
        // The table itself, or its partitions that hold rows (a day's cost is its own partition).
        const { rows } = await db.query<{ rows: string; heap: string; index: string }>(
          `WITH leaves AS (
             SELECT relid FROM pg_partition_tree($1::regclass) WHERE isleaf
             UNION SELECT $1::regclass WHERE (SELECT relkind FROM pg_class WHERE oid = $1::regclass) = 'r')
           SELECT (SELECT count(*) FROM ${table}) AS rows,
                  coalesce(sum(pg_table_size(l.relid)), 0) AS heap,
                  coalesce(sum(pg_indexes_size(l.relid)), 0) AS index
           FROM leaves l JOIN pg_class c ON c.oid = l.relid WHERE c.reltuples > 0`,
          [table],
        );
        const row = rows[0]!;
        const count = Number(row.rows);
        sizes[table] = { rows: count, heapBytes: Number(row.heap), indexBytes: Number(row.index), bytesPerRow: count ? (Number(row.heap) + Number(row.index)) / count : 0 };
      }
      return { meetings, postgres: version, tables: sizes };
    } finally {
      await db.end();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

async function writeSampleDay(url: URL, meetings: number): Promise<void> {
  const relay = await startPgRelay({ port: 0, allowedTargets: [`${url.hostname}:${url.port || 5432}`] });
  const rng = new Rng(20_261_202, 1);
  const dayStart = Date.UTC(2026, 11, 2);
  try {
    for (let done = 0; done < meetings; ) {
      const batch = Math.min(200, meetings - done);
      const records = Array.from({ length: batch }, () => meetingRecords(rng, dayStart)).flat();
      const client = relayedNeonClient(url.toString(), relay.port);
      await client.connect();
      try {
        await writeHistory(drizzle({ client, schema: tables }), records);
      } finally {
        await client.end();
      }
      done += batch;
    }
  } finally {
    await relay.close();
  }
}

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../db-migrate.js';

/**
 * The history partitions (schema/db/migrations/0001): rows land in their day, a redelivered
 * record is still dropped, stray rows move out of the default partition, and history_maintain
 * drops expired days. A scratch database on DATABASE_URL's server, else the dev cluster.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const DATABASE = 'edgemeet_sim_partitions_test';
let admin: pg.Client;
let db: pg.Client;

function serverUrl(): string {
  const url = process.env.DATABASE_URL ?? /DATABASE_URL=(\S+)/.exec(execFileSync('bash', [`${root}scripts/postgres.sh`, 'start'], { encoding: 'utf8' }))?.[1];
  if (!url) throw new Error('no Postgres: set DATABASE_URL or install the dev cluster (scripts/postgres.sh)');
  return url;
}

beforeAll(async () => {
  const server = new URL(serverUrl());
  server.pathname = '/postgres';
  admin = new pg.Client({ connectionString: server.toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  server.pathname = `/${DATABASE}`;
  await runMigrations(server.toString());
  db = new pg.Client({ connectionString: server.toString() });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await admin?.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin?.end();
});

const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000);
const ymd = (date: Date) => date.toISOString().slice(0, 10).replaceAll('-', '');

async function insertMessage(key: string, sentAt: Date): Promise<number> {
  const result = await db.query(
    `insert into messages (id, key, meeting_id, participant_id, display_name, text, sent_at)
     values (gen_random_uuid(), $1, gen_random_uuid(), 'p', 'n', 'hello', $2) on conflict do nothing`,
    [key, sentAt],
  );
  return result.rowCount ?? 0;
}

const partitionOf = async (table: string, key: string) =>
  (await db.query<{ part: string }>(`select tableoid::regclass::text as part from ${table} where key = $1`, [key])).rows.map((row) => row.part);

describe('history partitions', () => {
  it('puts rows in their day, and drops a redelivered record', async () => {
    const now = day(0);
    expect(await insertMessage('m-today', now)).toBe(1);
    expect(await insertMessage('m-today', now)).toBe(0);
    expect(await partitionOf('messages', 'm-today')).toEqual([`messages_p${ymd(now)}`]);
    await db.query(`insert into analytics_events (key, meeting_id, event, props, at) values ('a-1', gen_random_uuid(), 'join', '{}', $1), ('a-1', gen_random_uuid(), 'join', '{}', $1) on conflict do nothing`, [now]);
    expect(await partitionOf('analytics_events', 'a-1')).toEqual([`analytics_events_p${ymd(now)}`]);
  });

  it('moves stray rows from the default partition into a new day, and drops expired days', async () => {
    const far = day(20);
    expect(await insertMessage('m-far', far)).toBe(1);
    expect(await partitionOf('messages', 'm-far')).toEqual(['messages_default']);
    const old = day(-40);
    expect(await insertMessage('m-old', old)).toBe(1);
    const made = await db.query<{ created: boolean }>(`select history_ensure_partition('messages', 'sent_at', $1::date) as created`, [far.toISOString().slice(0, 10)]);
    expect(made.rows[0]!.created).toBe(true);
    expect(await partitionOf('messages', 'm-far')).toEqual([`messages_p${ymd(far)}`]);

    const before = await db.query(`select count(*)::int as n from pg_inherits where inhparent = 'messages'::regclass`);
    const actions = (await db.query<{ action: string; target: string }>('select * from history_maintain(10, 7)')).rows;
    expect(actions).toContainEqual({ action: 'deleted 1 rows', target: 'messages_default' });
    expect(actions.filter((a) => a.action === 'dropped' && a.target.startsWith('messages_p')).length).toBeGreaterThan(0);
    const after = await db.query(`select count(*)::int as n from pg_inherits where inhparent = 'messages'::regclass`);
    expect(after.rows[0].n).toBeLessThan(before.rows[0].n);
    expect(await partitionOf('messages', 'm-old')).toEqual([]);
    expect(await partitionOf('messages', 'm-today')).toHaveLength(1);
    // The next day's run has nothing left to do.
    expect((await db.query('select * from history_maintain(10, 7)')).rows).toEqual([]);
  });

  it('deletes expired participants in batches', async () => {
    await db.query(
      `insert into participants (meeting_id, participant_id, joined_at) select gen_random_uuid(), 'p' || g, $1 from generate_series(1, 25000) g`,
      [day(-15)],
    );
    await db.query(`insert into participants (meeting_id, participant_id, joined_at) values (gen_random_uuid(), 'fresh', $1)`, [day(0)]);
    const actions = (await db.query<{ action: string; target: string }>('select * from history_maintain(10, 7)')).rows.filter((a) => a.target === 'participants');
    expect(actions.map((a) => a.action)).toEqual(['deleted 10000 rows', 'deleted 10000 rows', 'deleted 5000 rows']);
    expect((await db.query('select participant_id from participants')).rows).toEqual([{ participant_id: 'fresh' }]);
  });
});

/**
 * History write throughput: the queue consumer's writer (edge/db/history-writer.ts) through the
 * same path as in the Worker — Neon driver → WebSocket relay (scripts/pg-relay.ts) → Postgres.
 * Simulates queue batches of 100 messages × N packed records spread over many rooms, one
 * connection per batch (as a Worker invocation would), sequentially.
 *   npm run bench:history      (DATABASE_URL, else the dev cluster of scripts/postgres.sh, started if needed)
 * Env: BATCHES (default 40), RECORDS_PER_MESSAGE (default 20), ROOMS (default 2000).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { drizzle } from 'drizzle-orm/neon-serverless';
import { z } from 'zod';
import * as tables from '../schema/db/index.js';
import type { HistoryRecord } from '../schema/wire/history.js';
import { writeHistory } from '../edge/db/history-writer.js';
import { runMigrations } from './db-migrate.js';
import { startPgRelay } from './pg-relay.js';
import { relayedNeonClient } from './pg-relay-client.js';

/** DATABASE_URL, or the local dev cluster (scripts/postgres.sh installs and starts it when missing). */
function databaseUrl(): string {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  console.error('bench-history: DATABASE_URL not set; using the dev cluster (scripts/postgres.sh start)');
  const printed = execFileSync('bash', [new URL('./postgres.sh', import.meta.url).pathname, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const match = /DATABASE_URL=(\S+)/.exec(printed);
  if (!match) throw new Error(`postgres.sh printed no DATABASE_URL: ${printed}`);
  return match[1]!;
}

const config = z
  .object({
    DATABASE_URL: z.string().min(1),
    BATCHES: z.coerce.number().int().positive().default(40),
    RECORDS_PER_MESSAGE: z.coerce.number().int().min(1).max(50).default(20),
    ROOMS: z.coerce.number().int().positive().default(2000),
  })
  .parse({ ...process.env, DATABASE_URL: databaseUrl() });

const rooms = Array.from({ length: config.ROOMS }, () => ({ meetingId: crypto.randomUUID(), meetingLinkId: crypto.randomUUID().replace(/-/g, '').slice(0, 22) }));

/** A realistic mix: mostly analytics and chat, some joins/leaves. */
function record(i: number): HistoryRecord {
  const room = rooms[i % rooms.length]!;
  const base = { key: crypto.randomUUID(), ...room, at: Date.now() };
  const participantId = `p-${i % 97}-${room.meetingId.slice(0, 8)}`;
  switch (i % 10) {
    case 0:
      return { kind: 'participantJoined', ...base, participantId, userId: null, displayName: 'Bench', role: 'participant' };
    case 1:
      return { kind: 'participantLeft', ...base, participantId, reason: 'left' };
    case 2:
    case 3:
    case 4:
      return { kind: 'message', ...base, messageId: crypto.randomUUID(), participantId, userId: null, displayName: 'Bench', text: 'hello there, this is a chat line' };
    default:
      return { kind: 'analytics', ...base, event: 'hand_raised', participantId, props: { n: i } };
  }
}

async function main(): Promise<void> {
  await runMigrations(config.DATABASE_URL);
  const target = new URL(config.DATABASE_URL);
  const relay = await startPgRelay({ port: 0, allowedTargets: [`${target.hostname}:${target.port || 5432}`] });
  const perBatch = 100 * config.RECORDS_PER_MESSAGE;
  let n = 0;
  const latencies: number[] = [];
  const connects: number[] = [];
  const started = performance.now();
  for (let b = 0; b < config.BATCHES; b++) {
    const records = Array.from({ length: perBatch }, () => record(n++));
    const t0 = performance.now();
    const client = relayedNeonClient(config.DATABASE_URL, relay.port);
    await client.connect();
    connects.push(performance.now() - t0);
    await writeHistory(drizzle({ client, schema: tables }), records);
    await client.end();
    latencies.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  connects.sort((a, b) => a - b);
  const pct = (p: number, list = latencies) => list[Math.min(list.length - 1, Math.floor(p * list.length))]!.toFixed(0);
  console.log(
    `history writer: ${n} records in ${config.BATCHES} batches of ${perBatch} (100 messages × ${config.RECORDS_PER_MESSAGE}) over ${config.ROOMS} rooms: ` +
      `${Math.round(n / seconds)} rows/s sequential, batch p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms (of which connect p50 ${pct(0.5, connects)} ms); load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores`,
  );
  await relay.close();
}

await main();

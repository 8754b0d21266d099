import { env } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ClientFraming } from '../../scripts/pg-relay-framing.js';
import { edgeConfig } from '../config.js';
import { withDb } from '../db/client.js';
import { waitFor } from './kits/wait.js';

function startup(): Buffer {
  const params = Buffer.from('user\0postgres\0database\0edgemeet\0\0');
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + params.length, 0);
  head.writeInt32BE(196608, 4);
  return Buffer.concat([head, params]);
}
function typed(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + payload.length, 1);
  return Buffer.concat([head, payload]);
}
const sslRequest = () => {
  const b = Buffer.alloc(8);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(80877103, 4);
  return b;
};

describe('pg relay: Terminate detection', () => {
  it("sees 'X' only as a whole message, across arbitrary chunking", () => {
    // A query whose text contains the Terminate bytes must not trigger.
    const stream = Buffer.concat([sslRequest(), startup(), typed('Q', Buffer.from("select 'X\0\0\0\x04'\0", 'latin1')), typed('X', Buffer.alloc(0))]);
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const framing = new ClientFraming();
      const hits: number[] = [];
      for (let offset = 0; offset < stream.length; offset += size) {
        if (framing.push(stream.subarray(offset, offset + size))) hits.push(Math.min(offset + size, stream.length));
      }
      expect(hits).toEqual([stream.length]);
    }
  });
});

describe('pg relay: through the Worker', () => {
  it('refuses targets that are not allowed', async () => {
    const response = await fetch(`http://${edgeConfig(env).dbWsProxy}?address=127.0.0.1:1`, { headers: { Upgrade: 'websocket' } });
    const socket = response.webSocket!;
    const closed = new Promise<number>((resolve) => socket.addEventListener('close', (event) => resolve(event.code)));
    socket.accept();
    expect(await closed).toBe(1008);
  });

  it('leaves no Postgres backend behind after many short connections', async () => {
    const marker = `leakcheck_${crypto.randomUUID().slice(0, 8)}`;
    const url = new URL(edgeConfig(env).databaseUrl);
    url.searchParams.set('application_name', marker);
    for (let i = 0; i < 15; i++) {
      const result = await withDb({ databaseUrl: url.toString(), dbWsProxy: edgeConfig(env).dbWsProxy }, (db) =>
        db.execute(sql`select current_setting('application_name') as name`),
      );
      expect(result.rows[0]).toEqual({ name: marker });
    }
    const lingering = await waitFor(
      'the relayed backends to end',
      async () => {
        const result = await withDb(env, (db) => db.execute(sql`select count(*)::int as n from pg_stat_activity where application_name = ${marker}`));
        return z.object({ n: z.number() }).parse(result.rows[0]).n;
      },
      (count) => count === 0,
      { timeoutMs: 5_000, intervalMs: 100 },
    );
    expect(lingering).toBe(0);
  });
});

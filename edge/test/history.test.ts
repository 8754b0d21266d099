import { env } from 'cloudflare:test';
import { eq, inArray } from 'drizzle-orm';
import { describe, expect, inject, it } from 'vitest';
import { analyticsEvents, historyDeadLetters, meetings, messages as messagesTable, recordings } from '../../schema/db/index.js';
import type { HistoryRecord } from '../../schema/wire/history.js';
import { retryDelaySeconds } from '../db/history-consumer.js';
import { api, db, registerUser } from './helpers.js';
import { asDeliveries, countRows, deliver, expectedRows, meetingHistory, participantRows } from './history-fixtures.js';
import { waitFor } from './kits/wait.js';

const sum = (a: ReturnType<typeof expectedRows>, b: ReturnType<typeof expectedRows>) => ({
  participants: a.participants + b.participants,
  messages: a.messages + b.messages,
  analytics: a.analytics + b.analytics,
  recordings: a.recordings + b.recordings,
});


describe('history consumer', () => {
  it('writes a batch across rooms once, even when it is delivered twice', async () => {
    const roomA = crypto.randomUUID();
    const roomB = crypto.randomUUID();
    const records = [...meetingHistory(roomA, 4, 6), ...meetingHistory(roomB, 3, 2)];
    const deliveries = asDeliveries(records);

    const first = await deliver(deliveries);
    expect(first.explicitAcks.sort()).toEqual(deliveries.map((d) => d.id).sort());
    expect(first.retryMessages).toEqual([]);
    const expected = sum(expectedRows(4, 6), expectedRows(3, 2));
    expect(await countRows([roomA, roomB])).toEqual(expected);

    // The same messages again (a redelivery), then again in reverse order, split in two batches.
    await deliver(deliveries);
    const reversed = [...deliveries].reverse();
    await deliver(reversed.slice(0, 10));
    await deliver(reversed.slice(10));
    expect(await countRows([roomA, roomB])).toEqual(expected);

    // Join and leave merged into one row per participant, whatever the order.
    const rows = await participantRows(roomB);
    expect(rows.filter((row) => row.role === 'host').map((row) => row.leftAt)).toEqual([null]);
    for (const row of rows.filter((row) => row.role === 'guest')) {
      expect(row.joinedAt!.getTime()).toBeLessThan(row.leftAt!.getTime());
      expect(row.leaveReason).toBe('left');
    }
    const events = await db((d) => d.select().from(analyticsEvents).where(eq(analyticsEvents.meetingId, roomA)));
    expect(events.map((e) => e.props).sort((a, b) => Number(a.n) - Number(b.n))).toEqual([0, 1, 2, 3].map((n) => ({ region: 'lon', n })));
    const chat = await db((d) => d.select().from(messagesTable).where(eq(messagesTable.meetingId, roomB)));
    expect(chat.filter((m) => m.text === 'hello 1')).toHaveLength(3);
    // The newest recording status wins over the older one delivered later.
    const [recording] = await db((d) => d.select().from(recordings).where(eq(recordings.meetingId, roomA)));
    expect(recording).toMatchObject({ status: 'ready', durationMs: 60_000, bytes: 1234 });
    expect(recording!.startedAt.getTime()).toBeLessThan(recording!.endedAt!.getTime());
  });

  it('accepts packed messages (arrays of records)', async () => {
    const room = crypto.randomUUID();
    const records = meetingHistory(room, 2, 10);
    const packed = [records.slice(0, 15), records.slice(15)];
    const result = await deliver(asDeliveries(packed));
    expect(result.explicitAcks).toHaveLength(2);
    await deliver(asDeliveries(packed));
    expect(await countRows([room])).toEqual(expectedRows(2, 10));
  });

  it('moves meetings to live and ended from status records', async () => {
    const host = await registerUser('Status');
    const created = await api('POST', '/api/meetings', { token: host.token, json: { title: 'status' } });
    const { id, linkId } = created.body.meeting;
    const live = Date.parse('2026-11-25T09:00:00Z');
    const status = (s: 'live' | 'ended', at: number) => ({ kind: 'meetingStatus', key: crypto.randomUUID(), meetingId: id, meetingLinkId: linkId, at, status: s });
    await deliver(asDeliveries([status('live', live + 5), status('live', live)]));
    let [row] = await db((d) => d.select().from(meetings).where(eq(meetings.id, id)));
    expect(row).toMatchObject({ status: 'live', startedAt: new Date(live) });
    await deliver(asDeliveries([status('ended', live + 60_000), status('live', live + 1)]));
    [row] = await db((d) => d.select().from(meetings).where(eq(meetings.id, id)));
    expect(row).toMatchObject({ status: 'ended', startedAt: new Date(live), endedAt: new Date(live + 60_000) });
  });

  it('dead-letters unparseable records and still writes the good ones', async () => {
    const room = crypto.randomUUID();
    const good = meetingHistory(room, 1, 1);
    const bad = [{ kind: 'message', meetingId: 'not-a-uuid' }, 'just a string', { kind: 'teleport', key: 'x' }];
    const deliveries = asDeliveries([...good, ...bad]);
    const result = await deliver(deliveries);
    expect(result.explicitAcks.sort()).toEqual(deliveries.map((d) => d.id).sort());
    expect(await countRows([room])).toEqual(expectedRows(1, 1));

    // They went to the real DLQ, whose consumer keeps them in Postgres.
    const badIds = deliveries.slice(good.length).map((d) => `${d.id}#0`);
    const dead = await waitFor(
      `${bad.length} dead letters in Postgres`,
      () => db((d) => d.select().from(historyDeadLetters).where(inArray(historyDeadLetters.messageId, badIds))),
      (rows) => rows.length === bad.length,
    );
    expect(dead.map((row) => row.messageId).sort()).toEqual(badIds.sort());
    expect(dead.every((row) => row.queue === 'edgemeet-history-dlq')).toBe(true);
    expect(dead.find((row) => row.messageId === badIds[1])!.body).toContain('just a string');
  });

  it('drops NUL characters Postgres cannot store', async () => {
    const room = crypto.randomUUID();
    const [joined, , message] = meetingHistory(room, 1, 1) as [HistoryRecord, HistoryRecord, Extract<HistoryRecord, { kind: 'message' }>];
    const result = await deliver(asDeliveries([joined, { ...message, text: 'nul\u0000byte' }]));
    expect(result.explicitAcks).toHaveLength(2);
    const [row] = await db((d) => d.select().from(messagesTable).where(eq(messagesTable.meetingId, room)));
    expect(row!.text).toBe('nulbyte');
  });

  it('isolates a record Postgres refuses: the rest of the batch is written, the offender dead-lettered', async () => {
    const room = crypto.randomUUID();
    const good = meetingHistory(room, 2, 3);
    // Valid by the schema and a valid JS date, but before 4713 BC: Postgres rejects it (22008).
    const poison = { ...good[2]!, key: crypto.randomUUID(), at: -3e14, ...(good[2]!.kind === 'message' ? { messageId: crypto.randomUUID() } : {}) };
    const deliveries = asDeliveries([...good, poison]);
    const result = await deliver(deliveries);
    expect(result.explicitAcks.sort()).toEqual(deliveries.map((d) => d.id).sort());
    expect(result.retryMessages).toEqual([]);
    expect(await countRows([room])).toEqual(expectedRows(2, 3));
    const poisonId = `${deliveries.at(-1)!.id}#0`;
    const dead = await waitFor(
      'the poisoned record in the dead letters',
      () => db((d) => d.select().from(historyDeadLetters).where(eq(historyDeadLetters.messageId, poisonId))),
      (rows) => rows.length === 1,
    );
    expect(dead).toHaveLength(1);
  });

  it('isolates within a packed message: its good records are written, each bad one dead-lettered under its own position', async () => {
    // One message as the outbox packs it: a record this consumer cannot parse (a kind a newer
    // RoomDO sends during a rolling deploy), a good chat message, and a record Postgres refuses.
    const room = crypto.randomUUID();
    const history = meetingHistory(room, 1, 1);
    const chat = history.find((record): record is Extract<HistoryRecord, { kind: 'message' }> => record.kind === 'message')!;
    const poison = { ...chat, key: crypto.randomUUID(), messageId: crypto.randomUUID(), at: -3e14 };
    const unparseable = { kind: 'handRaisedV2', key: crypto.randomUUID(), meetingId: room };
    const [packed] = asDeliveries([[unparseable, ...history, poison]]);
    const result = await deliver([packed!]);
    expect(result.explicitAcks).toEqual([packed!.id]);
    expect(result.retryMessages).toEqual([]);
    // The good neighbours of the refused record reach their tables, not the dead letters.
    expect(await countRows([room])).toEqual(expectedRows(1, 1));
    const poisonId = `${packed!.id}#${history.length + 1}`;
    const dead = await waitFor(
      'both bad records in the dead letters',
      () => db((d) => d.select().from(historyDeadLetters).where(inArray(historyDeadLetters.messageId, [`${packed!.id}#0`, poisonId]))),
      (rows) => rows.length === 2,
    );
    expect(dead.find((row) => row.messageId === poisonId)!.body).toContain(poison.key);
    expect(dead.find((row) => row.messageId === `${packed!.id}#0`)!.body).toContain(unparseable.key);
  });

  it('writes records sent through the real HISTORY queue exactly once', async () => {
    const room = crypto.randomUUID();
    const records = meetingHistory(room, 3, 3);
    await env.HISTORY.sendBatch(records.map((body) => ({ body })));
    await env.HISTORY.send(records.slice(0, 8)); // duplicates, packed
    const rows = await waitFor('the queued records in Postgres', () => countRows([room]), (n) => n.messages === 9 && n.recordings === 1 && n.participants === 3 && n.analytics === 3);
    expect(rows).toEqual(expectedRows(3, 3));
  });

  it('backs off retries up to a minute', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map(retryDelaySeconds)).toEqual([2, 4, 8, 16, 32, 60, 60, 60]);
  });
});

describe('Postgres outage during a meeting', () => {
  it('retries while the database is down; afterwards every row arrives exactly once', async () => {
    const control = (action: 'start' | 'stop') =>
      fetch(`${inject('testControlUrl')}/outage-cluster/${action}`, { method: 'POST' }).then(async (response) => {
        if (!response.ok) throw new Error(`outage-cluster ${action}: ${await response.text()}`);
        return (await response.json()) as { databaseUrl?: string };
      });
    const { databaseUrl } = await control('start');
    const outageEnv = { ...env, DATABASE_URL: databaseUrl! };
    const rooms = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];

    // The meeting is running: the first stretch of history is written normally.
    const before = asDeliveries(rooms.flatMap((room) => meetingHistory(room, 2, 5)));
    expect((await deliver(before, outageEnv)).explicitAcks).toHaveLength(before.length);

    await control('stop');
    // History keeps coming while Postgres is down: every delivery is retried, none acked.
    const during = asDeliveries(rooms.flatMap((room) => meetingHistory(room, 4, 20)));
    // (The pool's getQueueResult does not report delaySeconds; retryDelaySeconds is tested above.)
    for (let attempt = 1; attempt <= 3; attempt++) {
      const result = await deliver(during.map((d) => ({ ...d, attempts: attempt })), outageEnv);
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages).toHaveLength(during.length);
    }
    // A redelivery of already-written records while down is retried too.
    expect((await deliver(before.slice(0, 5), outageEnv)).retryMessages).toHaveLength(5);

    await control('start');
    const after = await deliver(during.map((d) => ({ ...d, attempts: 4 })), outageEnv);
    expect(after.explicitAcks).toHaveLength(during.length);
    expect((await deliver(before.slice(0, 5), outageEnv)).explicitAcks).toHaveLength(5);

    const perRoom = sum(expectedRows(2, 5), expectedRows(4, 20));
    const total = { participants: perRoom.participants * 3, messages: perRoom.messages * 3, analytics: perRoom.analytics * 3, recordings: perRoom.recordings * 3 };
    expect(await countRows(rooms, databaseUrl)).toEqual(total);
  });
});

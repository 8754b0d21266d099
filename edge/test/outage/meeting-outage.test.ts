/**
 * Postgres stops in the middle of a real meeting (RoomDO, room sockets, a media node in the
 * region, the real HISTORY queue and its consumer). The meeting must not notice; afterwards every
 * history row must reach Postgres exactly once. This suite owns its database (see
 * edge/vitest.outage.config.ts), so stopping it disturbs no other test.
 */
import { and, count, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { analyticsEvents, meetings, messages, participants } from '../../../schema/db/index.js';
import { connectFakeNode, type FakeNode } from '../kits/fake-node.js';
import { watchLogs } from '../kits/log-watch.js';
import { waitFor } from '../kits/wait.js';
import { joinMeeting, openRoomSocket, type RoomClient } from '../kits/room-kit.js';
import { api, db, registerUser } from '../helpers.js';

async function database(action: 'start' | 'stop' | 'freeze' | 'thaw'): Promise<void> {
  const response = await fetch(`${inject('testControlUrl')}/outage-cluster/${action}`, { method: 'POST' });
  if (!response.ok) throw new Error(`database ${action}: ${await response.text()}`);
}

interface Seat {
  participantId: string;
  socket: RoomClient;
}

const sockets: RoomClient[] = [];
let node: FakeNode;
let heartbeats: ReturnType<typeof setInterval>;
beforeAll(async () => {
  node = await connectFakeNode({ region: 'lon' });
  // A live media node heartbeats every 2 s, so the region keeps it up for the whole meeting.
  heartbeats = setInterval(() => node.heartbeat({ rooms: 1 }), 2_000);
});
afterAll(async () => {
  vi.restoreAllMocks(); // the log watch, should the test have failed while it ran
  clearInterval(heartbeats);
  for (const socket of sockets) socket.close();
  node.retire();
  // Leave the cluster running for the teardown, whatever happened (the test thaws it itself).
  await database('thaw').catch(() => undefined);
  await database('start');
});

async function seat(linkId: string, body: object, token?: string): Promise<Seat> {
  const joined = await joinMeeting(linkId, body, token ? { token } : {});
  if (joined.status !== 200) throw new Error(`join failed: ${joined.status} ${JSON.stringify(joined.body)}`);
  const socket = await openRoomSocket(linkId, joined.body.roomSession);
  sockets.push(socket);
  await socket.next('welcome');
  return { participantId: joined.body.participantId, socket };
}

/** Sends a chat message and waits until every seat has it. */
async function say(from: Seat, text: string, everyone: Seat[]): Promise<void> {
  expect(await from.socket.request({ type: 'chat.send', text })).toMatchObject({ type: 'ack' });
  for (const other of everyone) await other.socket.next('chat.message', (m) => m.message.text === text, 10_000);
}

async function historyOf(meetingId: string) {
  return db(async (d) => {
    const chat = await d.select({ text: messages.text }).from(messages).where(eq(messages.meetingId, meetingId));
    const people = await d.select().from(participants).where(eq(participants.meetingId, meetingId));
    const events = await d
      .select({ event: analyticsEvents.event, n: count() })
      .from(analyticsEvents)
      .where(eq(analyticsEvents.meetingId, meetingId))
      .groupBy(analyticsEvents.event);
    const [meeting] = await d.select({ status: meetings.status }).from(meetings).where(eq(meetings.id, meetingId));
    return { chat: chat.map((row) => row.text).sort(), people, events: Object.fromEntries(events.map((row) => [row.event, row.n])), status: meeting?.status };
  });
}

describe('Postgres outage during a meeting', () => {
  it('the meeting goes on; afterwards every history row arrives exactly once', async () => {
    const host = await registerUser('Host Olga');
    const created = await api('POST', '/api/meetings', { token: host.token, json: { title: 'through the outage' } });
    expect(created.status).toBe(201);
    const { id: meetingId, linkId } = created.body.meeting;

    const olga = await seat(linkId, {}, host.token);
    const ana = await seat(linkId, { displayName: 'Ana' });
    await say(olga, 'before 1', [olga, ana]);
    await say(ana, 'before 2', [olga, ana]);
    // Before the outage, history flows normally.
    const flowing = await waitFor('the first chat in Postgres', () => historyOf(meetingId), (h) => h.chat.length === 2 && h.status === 'live', {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    expect(flowing).toMatchObject({ chat: ['before 1', 'before 2'], status: 'live' });

    const logs = watchLogs();
    await database('stop');
    // It really is down: a route that needs Postgres answers a clear 503, nothing else breaks.
    const mine = await api('GET', '/api/meetings', { token: host.token });
    expect(mine.status).toBe(503);
    expect(mine.body.error.code).toBe('DATABASE_UNAVAILABLE');
    expect(mine.headers.get('Retry-After')).toBe('5');

    // The meeting goes on: someone new joins (link, guest), everyone chats, someone leaves.
    const bob = await seat(linkId, { displayName: 'Bob' });
    const during: string[] = [];
    for (let i = 0; i < 12; i++) {
      const from = [olga, ana, bob][i % 3]!;
      during.push(`during ${i}`);
      await say(from, `during ${i}`, [olga, ana, bob]);
    }
    expect(await ana.socket.request({ type: 'hand.set', raised: true })).toMatchObject({ type: 'ack' });
    bob.socket.close();
    expect(await olga.socket.next('participant.left', (m) => m.participantId === bob.participantId, 10_000)).toMatchObject({ reason: 'left' });
    // The host ends it, still during the outage.
    olga.socket.send({ type: 'host.end' });
    for (const present of [olga, ana]) expect(await present.socket.next('closed', undefined, 10_000)).toMatchObject({ code: 'MEETING_ENDED' });
    // Let the consumer's retries fail against the stopped database: a first attempt and a retry.
    const failedRetry = (retries: { attempts: number; queue: string }[]) => retries.some((r) => r.queue === 'edgemeet-history' && r.attempts >= 2);
    await waitFor('a failed retry of the history consumer', async () => logs.events('history.retry'), failedRetry, { timeoutMs: 30_000, intervalMs: 250 });
    logs.stop();
    await database('start');

    // Every row arrives (the consumer's retries back off 2, 4, 8 … s) …
    const expected = {
      chat: ['before 1', 'before 2', ...during].sort(),
      events: { meeting_started: 1, join: 3, message_sent: 14, hand_raised: 1, leave: 1, meeting_ended: 1 },
      status: 'ended',
    };
    const complete = (h: Awaited<ReturnType<typeof historyOf>>) =>
      h.chat.length >= expected.chat.length && h.people.length >= 3 && h.status === 'ended' && (h.events.message_sent ?? 0) >= 14 && (h.events.meeting_ended ?? 0) >= 1;
    await waitFor('every history row in Postgres', () => historyOf(meetingId), complete, { timeoutMs: 90_000, intervalMs: 500 });
    // … and exactly once: a duplicate would show up only later, so this waits out a quiet period
    // (there is no event for "nothing more arrives").
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const history = await historyOf(meetingId);
    expect(history).toMatchObject(expected);
    expect(history.chat).toEqual(expected.chat);
    expect(history.events).toEqual(expected.events);
    const byId = new Map(history.people.map((row) => [row.participantId, row]));
    expect([...byId.keys()].sort()).toEqual([olga, ana, bob].map((s) => s.participantId).sort());
    expect(history.people).toHaveLength(3);
    expect(byId.get(bob.participantId)).toMatchObject({ displayName: 'Bob', role: 'guest', leaveReason: 'left' });
    expect(byId.get(olga.participantId)).toMatchObject({ role: 'host', userId: host.user.id, leaveReason: 'ended' });
    expect(byId.get(ana.participantId)!.leftAt).not.toBeNull();

    // The database is back for routes too.
    expect((await api('GET', '/api/meetings?scope=past', { token: host.token })).status).toBe(200);
    const [ended] = await db((d) => d.select().from(meetings).where(and(eq(meetings.id, meetingId), inArray(meetings.status, ['ended']))));
    expect(ended?.endedAt).toBeInstanceOf(Date);
  });

  it('a database that stops answering (connections accepted, never served): routes answer 503 in bounded time instead of hanging, and serve again once it answers', async () => {
    const host = await registerUser('Host Fred');
    const created = await api('POST', '/api/meetings', { token: host.token, json: { title: 'frozen database' } });
    expect(created.status).toBe(201);
    const { linkId } = created.body.meeting;

    await database('freeze');
    try {
      // Without a deadline the request waits as long as the frozen server: bounded here, so a hang fails.
      const noAnswer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 30 s: the request hangs on the frozen database')), 30_000));
      const listed = await Promise.race([api('GET', `/api/meetings/${linkId}/recordings`, { token: host.token }), noAnswer]);
      expect(listed.status).toBe(503);
      expect(listed.body.error.code).toBe('DATABASE_UNAVAILABLE');
      expect(listed.headers.get('Retry-After')).toBe('5');
    } finally {
      await database('thaw');
    }
    expect((await api('GET', `/api/meetings/${linkId}/recordings`, { token: host.token })).status).toBe(200);
  });
});

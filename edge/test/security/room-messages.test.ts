import { runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RoomClientMessage, RoomServerMessage } from '../../../schema/wire/room.js';
import { roomClientMessageSchema } from '../../../schema/wire/room.js';
import { CHAT_BURST, CHAT_REFILL_MS } from '../../room/chat-store.js';
import type { RoomDO } from '../../room/room-do.js';
import { registerUser } from '../helpers.js';
import { openRoomSocket, recordHistory, roomStub, seatedMeeting, type RoomClient, type Seat } from '../kits/room-kit.js';

/**
 * Issue 13, points 6 and 8 (room socket): every client message has a per-participant limit that a
 * reconnect does not reset, and chat text is normalised once so broadcast and storage agree.
 */
// This file's meetings live in Sydney; no other security test places media there.
const SYDNEY = { latitude: '-33.8688', longitude: '151.2093' };

let host: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Host Holly');
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) done();
});

function meetingWith(guests: number) {
  return seatedMeeting({ host, region: 'syd', cf: SYDNEY, cleanup, guests });
}

type Answer = Extract<RoomServerMessage, { type: 'ack' | 'error' }>;

/** Sends every message at once (no waiting in between) and collects one answer per message. */
async function flood(socket: RoomClient, messages: (RoomClientMessage | string)[]): Promise<Answer[]> {
  const start = socket.inbox.received.length;
  const answers = () => socket.inbox.received.slice(start).filter((m): m is Answer => m.type === 'ack' || m.type === 'error');
  messages.forEach((message, i) => socket.send(typeof message === 'string' ? message : { ...message, ref: `f${i}` }));
  await expect.poll(() => answers().length, { timeout: 20_000 }).toBeGreaterThanOrEqual(messages.length);
  return answers();
}

const limited = (answers: Answer[]) => answers.filter((a) => a.type === 'error' && a.code === 'RATE_LIMITED');

describe('per-participant limits on the room socket (point 6)', () => {
  it('1,000 hand.set in a burst: a handful applied, broadcast and written; the rest RATE_LIMITED with a wait', async () => {
    const room = await meetingWith(1);
    const [guest] = room.guests as [Seat];
    const history = await recordHistory(room.settings.linkId);
    const hostUpdatesBefore = room.host.socket.inbox.received.filter((m) => m.type === 'participant.updated').length;
    const answers = await flood(
      guest.socket,
      Array.from({ length: 1_000 }, (_, i) => ({ type: 'hand.set', raised: i % 2 === 0 }) as const),
    );
    const acks = answers.filter((a) => a.type === 'ack').length;
    expect(acks).toBeLessThanOrEqual(10);
    expect(limited(answers).length).toBeGreaterThanOrEqual(990);
    expect(limited(answers).every((a) => a.type === 'error' && (a.retryAfterMs ?? 0) > 0)).toBe(true);
    // The well-behaved host still gets answers at once, and saw only the applied changes.
    const pingAt = Date.now();
    room.host.socket.send({ type: 'ping' });
    await room.host.socket.next('pong', (m) => m.at >= pingAt - 1_000, 2_000);
    const hostUpdates = room.host.socket.inbox.received.filter((m) => m.type === 'participant.updated').length - hostUpdatesBefore;
    expect(hostUpdates).toBeLessThanOrEqual(acks);
    await expect.poll(() => runInDurableObject(roomStub(room.settings.linkId), (i: RoomDO) => i.room.outbox.pending())).toBe(0);
    expect(history.filter((r) => r.kind === 'analytics' && r.event === 'hand_raised').length).toBeLessThanOrEqual(acks);
  });

  it('every kind of client message is limited per participant (malformed frames too)', async () => {
    const room = await meetingWith(0);
    // This test outlasts the heartbeat timeout; media.refresh asks the region whether the node still serves.
    const beat = setInterval(() => room.node.heartbeat(), 500);
    cleanup.push(() => clearInterval(beat));
    const samples: (RoomClientMessage | string)[] = [
      { type: 'chat.send', text: 'hi' },
      { type: 'hand.set', raised: true },
      { type: 'host.remove', participantId: room.host.participantId },
      { type: 'host.mute', participantId: room.host.participantId },
      { type: 'host.setRole', participantId: room.host.participantId, role: 'cohost' },
      { type: 'host.admit', participantId: room.host.participantId },
      { type: 'host.deny', participantId: room.host.participantId },
      { type: 'host.lock', locked: true },
      { type: 'host.lowerHand', participantId: room.host.participantId },
      { type: 'host.end' },
      { type: 'host.allowUnmute', allowed: false },
      { type: 'recording.start' },
      { type: 'recording.stop' },
      { type: 'media.refresh' },
      { type: 'ping' },
      '{"type":',
    ];
    const covered = new Set(samples.map((s) => (typeof s === 'string' ? null : s.type)));
    for (const option of roomClientMessageSchema.options) expect(covered.has(option.shape.type.value), option.shape.type.value).toBe(true);
    for (const [i, sample] of samples.entries()) {
      // A fresh guest per kind: each floods its own buckets.
      const guest = await room.seat({ displayName: `Flooder ${i}` });
      const answers = await flood(guest.socket, Array.from({ length: 120 }, () => sample));
      expect(limited(answers).length, JSON.stringify(sample)).toBeGreaterThan(0);
    }
    // Nothing a guest may not change changed.
    const view = await runInDurableObject(roomStub(room.settings.linkId), (i: RoomDO) => i.room.meetingView());
    expect(view).toMatchObject({ locked: false, ended: false, participantsMayUnmute: true, recording: { active: false } });
  });

  it('a reconnect does not reset the chat limit (a burst, then a steady refill)', async () => {
    const room = await meetingWith(1);
    const [guest] = room.guests as [Seat];
    const first = await flood(guest.socket, Array.from({ length: CHAT_BURST + 5 }, (_, i) => ({ type: 'chat.send', text: `spam ${i}` }) as const));
    expect(first.filter((a) => a.type === 'ack').length).toBeLessThanOrEqual(CHAT_BURST + 1);
    const spentAt = Date.now();
    guest.socket.close();
    await room.host.socket.next('participant.left', (m) => m.participantId === guest.participantId);
    const back = await openRoomSocket(room.settings.linkId, guest.session);
    cleanup.push(() => back.close());
    await back.next('welcome');
    const again = await flood(back, Array.from({ length: CHAT_BURST }, (_, i) => ({ type: 'chat.send', text: `more ${i}` }) as const));
    const refilled = Math.floor((Date.now() - spentAt) / CHAT_REFILL_MS) + 1;
    const acks = again.filter((a) => a.type === 'ack').length;
    expect(acks).toBeLessThanOrEqual(refilled);
    expect(acks).toBeLessThan(CHAT_BURST);
  });
});

describe('chat text is normalised once on the way in (point 8)', () => {
  it('a lone surrogate and a decomposed accent: broadcast, stored and history carry the same well-formed text', async () => {
    const room = await meetingWith(1);
    const [guest] = room.guests as [Seat];
    const history = await recordHistory(room.settings.linkId);
    expect(await guest.socket.request({ type: 'chat.send', text: 'bad \uD800 cafe\u0301' })).toMatchObject({ type: 'ack' });
    const broadcast = (await room.host.socket.next('chat.message')).message.text;
    expect(broadcast).toBe('bad \uFFFD café');
    const stored = await runInDurableObject(roomStub(room.settings.linkId), (i: RoomDO) => i.room.chat.recent().map((m) => m.text));
    expect(stored).toEqual([broadcast]);
    await expect.poll(() => history.filter((r) => r.kind === 'message').length).toBe(1);
    expect(history.find((r) => r.kind === 'message')).toMatchObject({ text: broadcast });
    // Nothing visible left after normalising: refused, nothing stored.
    expect(await guest.socket.request({ type: 'chat.send', text: '\u0000\u0001  ' })).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
  });
});

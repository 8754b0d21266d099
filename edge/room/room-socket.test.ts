import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryMessage, HistoryRecord } from '../../schema/wire/history.js';
import type { MeetingSettings } from '../../schema/wire/http.js';
import type { RoomClientMessage } from '../../schema/wire/room.js';
import { registerUser } from '../test/helpers.js';
import { connectFakeNode, regionStubFor } from '../test/kits/fake-node.js';
import type { RegionDO } from '../registry/region-do.js';
import { CHAT_BURST } from './chat-store.js';
import { RELEASE_TIMER } from './media.js';
import { TIMERS_TABLE } from './timers.js';
import { joinMeeting, openRoomSocket, roomStub, seatedMeeting, type Seat } from '../test/kits/room-kit.js';
import type { RoomDO } from './room-do.js';

// This file's meetings live in Nairobi; no other test file places media there.
const NAIROBI = { latitude: '-1.2921', longitude: '36.8219' };

let host: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Host Hedy');
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) done();
});

/** A meeting in Nairobi with the host and `guests` guests connected. */
function meetingWith(guests: number, overrides: Partial<MeetingSettings> = {}) {
  return seatedMeeting({ host, region: 'nbo', cf: NAIROBI, cleanup, guests, settings: overrides });
}

/** Everything in the room a message could change. */
function snapshot(linkId: string) {
  return runInDurableObject(roomStub(linkId), (instance: RoomDO) => ({
    joined: instance.room.participants.withStatus('joined'),
    waiting: instance.room.participants.withStatus('waiting'),
    chat: instance.room.chat.recent(500),
    meeting: instance.room.meetingView(),
    assignment: instance.room.meeting.assignment(),
  }));
}

/** Puts a recording queue in front of the room's real HISTORY queue (the outbox's seam). */
async function recordQueue(linkId: string, failing = false) {
  const sent: HistoryRecord[] = [];
  await runInDurableObject(roomStub(linkId), (instance: RoomDO) => {
    const real = env.HISTORY;
    instance.room.outbox.queue = {
      send: (body: HistoryMessage) => real.send(body),
      sendBatch: async (messages: Iterable<MessageSendRequest<HistoryMessage>>) => {
        if (failing) throw new Error('queue unavailable');
        const list = [...messages];
        for (const message of list) sent.push(...(Array.isArray(message.body) ? message.body : [message.body]));
        return real.sendBatch(list);
      },
    } as Queue<HistoryMessage>;
  });
  return sent;
}

describe('chat', () => {
  it('reaches every socket, is kept as history for later joiners, and leaves through the outbox', async () => {
    const room = await meetingWith(2);
    const sent = await recordQueue(room.settings.linkId);
    expect(await room.guests[0]!.socket.request({ type: 'chat.send', text: 'hello everyone' })).toMatchObject({ type: 'ack' });
    for (const seat of [room.host, ...room.guests]) {
      const message = await seat.socket.next('chat.message');
      expect(message.message).toMatchObject({ text: 'hello everyone', participantId: room.guests[0]!.participantId, displayName: 'Guest 0' });
    }
    const late = await room.seat({ displayName: 'Late Lou' });
    const welcome = late.socket.inbox.received.find((m) => m.type === 'welcome');
    expect(welcome?.type === 'welcome' && welcome.chat.map((m) => m.text)).toEqual(['hello everyone']);
    await expect.poll(() => sent.some((r) => r.kind === 'message' && r.text === 'hello everyone')).toBe(true);
    const message = sent.find((r) => r.kind === 'message')!;
    expect(message).toMatchObject({ meetingId: room.settings.meetingId, meetingLinkId: room.settings.linkId, participantId: room.guests[0]!.participantId });
    expect(sent.some((r) => r.kind === 'analytics' && r.event === 'message_sent')).toBe(true);
    await expect.poll(() => runInDurableObject(roomStub(room.settings.linkId), (i: RoomDO) => i.room.outbox.pending())).toBe(0);
  });

  it('keeps history in the outbox while the queue fails and sends it on the alarm', async () => {
    const room = await meetingWith(1);
    await recordQueue(room.settings.linkId, true);
    expect(await room.guests[0]!.socket.request({ type: 'chat.send', text: 'are you there?' })).toMatchObject({ type: 'ack' });
    await room.host.socket.next('chat.message');
    const pending = await runInDurableObject(roomStub(room.settings.linkId), (i: RoomDO) => i.room.outbox.pending());
    expect(pending).toBeGreaterThan(0);
    const sent = await recordQueue(room.settings.linkId);
    expect(await runDurableObjectAlarm(roomStub(room.settings.linkId))).toBe(true);
    expect(await runInDurableObject(roomStub(room.settings.linkId), (i: RoomDO) => i.room.outbox.pending())).toBe(0);
    expect(sent.filter((r) => r.kind === 'message').map((r) => r.kind === 'message' && r.text)).toEqual(['are you there?']);
    // Every record went exactly once, with a key fixed at write time.
    expect(new Set(sent.map((r) => r.key)).size).toBe(sent.length);
  });

  it('limits message length and rate per participant', async () => {
    const room = await meetingWith(1);
    const guest = room.guests[0]!.socket;
    expect(await guest.request({ type: 'chat.send', text: 'x'.repeat(2_001) })).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
    const results = [];
    for (let i = 0; i < CHAT_BURST + 3; i++) results.push(await guest.request({ type: 'chat.send', text: `spam ${i}` }));
    expect(results.slice(0, CHAT_BURST).every((r) => r.type === 'ack')).toBe(true);
    expect(results.slice(CHAT_BURST).some((r) => r.type === 'error' && r.code === 'RATE_LIMITED')).toBe(true);
    // The host is not throttled by the guest's flood.
    expect(await room.host.socket.request({ type: 'chat.send', text: 'calm down' })).toMatchObject({ type: 'ack' });
  });
});

describe('host actions', () => {
  it('refuses every host action from a participant with NOT_HOST and changes nothing', async () => {
    const room = await meetingWith(2);
    const [actor, target] = room.guests as [Seat, Seat];
    const before = await snapshot(room.settings.linkId);
    const actions: RoomClientMessage[] = [
      { type: 'host.remove', participantId: target.participantId },
      { type: 'host.mute', participantId: target.participantId },
      { type: 'host.setRole', participantId: target.participantId, role: 'cohost' },
      { type: 'host.admit', participantId: target.participantId },
      { type: 'host.deny', participantId: target.participantId },
      { type: 'host.lock', locked: true },
      { type: 'host.end' },
      { type: 'recording.start' },
      { type: 'recording.stop' },
    ];
    for (const action of actions) expect(await actor.socket.request(action), action.type).toMatchObject({ type: 'error', code: 'NOT_HOST' });
    expect(await snapshot(room.settings.linkId)).toEqual(before);
    expect(room.node.commands()).toEqual([]);
  });

  it('lets the host mute (node told, target told, everyone sees it), lock and promote a co-host', async () => {
    const room = await meetingWith(2);
    const [first, second] = room.guests as [Seat, Seat];
    expect(await room.host.socket.request({ type: 'host.mute', participantId: first.participantId, kind: 'audio' })).toMatchObject({ type: 'ack' });
    expect(await room.node.command('muteParticipant', room.settings.linkId)).toMatchObject({ participantId: first.participantId, kind: 'audio' });
    expect(await first.socket.next('muted')).toMatchObject({ kind: 'audio', by: room.host.participantId });
    expect((await second.socket.next('participant.updated')).participant.mutedByHost).toEqual({ audio: true, video: false });

    expect(await room.host.socket.request({ type: 'host.lock', locked: true })).toMatchObject({ type: 'ack' });
    expect((await second.socket.next('meeting.updated')).meeting.locked).toBe(true);

    expect(await room.host.socket.request({ type: 'host.setRole', participantId: first.participantId, role: 'cohost' })).toMatchObject({ type: 'ack' });
    await second.socket.next('participant.updated', (m) => m.participant.role === 'cohost');
    // A co-host moderates, but only the host changes roles.
    expect(await first.socket.request({ type: 'host.lock', locked: false })).toMatchObject({ type: 'ack' });
    expect(await first.socket.request({ type: 'host.setRole', participantId: second.participantId, role: 'cohost' })).toMatchObject({ type: 'error', code: 'NOT_HOST' });
    expect(await first.socket.request({ type: 'host.remove', participantId: room.host.participantId })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
  });

  it('removes a participant for good: node told, old session and new join refused until the host lifts it', async () => {
    const room = await meetingWith(2);
    const [removed, witness] = room.guests as [Seat, Seat];
    expect(await room.host.socket.request({ type: 'host.remove', participantId: removed.participantId })).toMatchObject({ type: 'ack' });
    expect(await removed.socket.next('closed')).toMatchObject({ code: 'REMOVED_BY_HOST' });
    expect(await removed.socket.whenClosed()).toBe(4003);
    expect(await witness.socket.next('participant.left')).toMatchObject({ participantId: removed.participantId, reason: 'removed' });
    expect(await room.node.command('closeParticipant', room.settings.linkId)).toMatchObject({ participantId: removed.participantId });

    const reconnect = await openRoomSocket(room.settings.linkId, removed.session);
    expect(await reconnect.next('closed')).toMatchObject({ code: 'REMOVED_BY_HOST' });
    const rejoin = await joinMeeting(room.settings.linkId, { displayName: 'guest 0 ' }, { cf: NAIROBI });
    expect(rejoin.status).toBe(403);
    expect(rejoin.body.error.code).toBe('REMOVED_BY_HOST');

    expect(await room.host.socket.request({ type: 'host.admit', participantId: removed.participantId })).toMatchObject({ type: 'ack' });
    const allowed = await joinMeeting(room.settings.linkId, { displayName: 'Guest 0' }, { cf: NAIROBI });
    expect(allowed.status).toBe(200);
    // The old session stays dead even after the lift.
    const oldAgain = await openRoomSocket(room.settings.linkId, removed.session);
    expect(await oldAgain.next('closed')).toMatchObject({ code: 'REMOVED_BY_HOST' });
  });

  it('a removed guest stays out under a new name from the same browser; their network is not barred', async () => {
    const room = await meetingWith(0);
    const link = room.settings.linkId;
    const join = (body: object, ip: string, token?: string) => joinMeeting(link, body, { cf: NAIROBI, ip, ...(token ? { token } : {}) });
    const browserKey = `key-${crypto.randomUUID()}`;
    const mallory = await join({ displayName: 'Mallory', guestKey: browserKey }, '198.51.100.7');
    expect(mallory.status).toBe(200);
    const socket = await openRoomSocket(link, mallory.body.roomSession);
    cleanup.push(() => socket.close());
    await socket.next('welcome');
    expect(await room.host.socket.request({ type: 'host.remove', participantId: mallory.body.participantId })).toMatchObject({ type: 'ack' });
    await socket.next('closed');

    // A new name from the same browser (another network): out.
    const refused = await join({ displayName: 'Not Mallory', guestKey: browserKey }, '203.0.113.9');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('REMOVED_BY_HOST');
    // Someone else gets in, also from Mallory's network: one address is shared by everyone behind a
    // NAT, so it is never a ban (issue 13 point 2); so does a signed-in user on that network.
    expect((await join({ displayName: 'Trent', guestKey: `key-${crypto.randomUUID()}` }, '203.0.113.10')).status).toBe(200);
    expect((await join({ displayName: 'Neighbour', guestKey: `key-${crypto.randomUUID()}` }, '198.51.100.7')).status).toBe(200);
    const walter = await registerUser('Walter');
    expect((await join({}, '198.51.100.7', walter.token)).status).toBe(200);
    // A malformed browser key is refused outright.
    expect((await join({ displayName: 'Odd', guestKey: 'short' }, '203.0.113.11')).body.error.code).toBe('VALIDATION_FAILED');

    // The host lifts the removal: Mallory's browser and network are welcome again.
    expect(await room.host.socket.request({ type: 'host.admit', participantId: mallory.body.participantId })).toMatchObject({ type: 'ack' });
    expect((await join({ displayName: 'Mallory', guestKey: browserKey }, '198.51.100.7')).status).toBe(200);
  });

  it('records: node told to start and stop, everyone sees the state, node status events update it', async () => {
    const room = await meetingWith(1);
    const guest = room.guests[0]!.socket;
    expect(await room.host.socket.request({ type: 'recording.start' })).toMatchObject({ type: 'ack' });
    const start = await room.node.command('startRecording', room.settings.linkId);
    const started = await guest.next('meeting.updated', (m) => m.meeting.recording.active);
    expect(started.meeting.recording).toMatchObject({ recordingId: start.recordingId, status: 'recording' });
    expect(await room.host.socket.request({ type: 'recording.start' })).toMatchObject({ type: 'error', code: 'ALREADY_RECORDING' });

    expect(await room.host.socket.request({ type: 'recording.stop' })).toMatchObject({ type: 'ack' });
    expect(await room.node.command('stopRecording', room.settings.linkId)).toEqual({ command: 'stopRecording', meetingId: room.settings.linkId, recordingId: start.recordingId });
    await guest.next('meeting.updated', (m) => !m.meeting.recording.active);

    room.node.send({ type: 'event', event: { event: 'recordingStatus', meetingId: room.settings.linkId, recordingId: start.recordingId, status: 'ready', durationMs: 4_000, files: [], statusId: 'word-7' } });
    // The node keeps a status until the region confirms it (naming it), once the room has it.
    const received = await room.node.inbox.next((m) => m.type === 'recordingStatusReceived');
    expect(received).toEqual({ type: 'recordingStatusReceived', recordingId: start.recordingId, status: 'ready', statusId: 'word-7' });
    const kept = await runInDurableObject(roomStub(room.settings.linkId), (instance: RoomDO) => instance.room.meeting.recording());
    expect(kept).toMatchObject({ recordingId: start.recordingId, status: 'ready' });
    const ready = await guest.next('meeting.updated', (m) => m.meeting.recording.status === 'ready');
    expect(ready.meeting.recording).toMatchObject({ active: false, recordingId: start.recordingId });
  });

  it('ends the meeting for everyone: node told, every socket gets closed', async () => {
    const room = await meetingWith(2);
    // No ack: the host's own socket closes with everyone else's.
    room.host.socket.send({ type: 'host.end', ref: 'end-1' });
    for (const seat of [room.host, ...room.guests]) {
      expect(await seat.socket.next('closed')).toMatchObject({ code: 'MEETING_ENDED' });
      expect(await seat.socket.whenClosed()).toBe(4004);
    }
    expect(await room.node.command('closeMeeting', room.settings.linkId)).toMatchObject({ meetingId: room.settings.linkId });
    const fleet = await regionStubFor('nbo').fleet();
    expect(fleet.find((n) => n.nodeId === room.node.nodeId)?.rooms).toBe(0);
    expect((await joinMeeting(room.settings.linkId, { displayName: 'Too late' }, { cf: NAIROBI })).body.error.code).toBe('MEETING_ENDED');
  });
});

describe('malformed room messages', () => {
  const cases: { name: string; frame: unknown; code: string }[] = [
    { name: 'not JSON', frame: '{"type":', code: 'BAD_REQUEST' },
    { name: 'no type', frame: { text: 'hi' }, code: 'UNKNOWN_MESSAGE' },
    { name: 'unknown type', frame: { type: 'host.nuke' }, code: 'UNKNOWN_MESSAGE' },
    { name: 'chat.send empty', frame: { type: 'chat.send', text: '   ' }, code: 'VALIDATION_FAILED' },
    { name: 'chat.send number', frame: { type: 'chat.send', text: 5 }, code: 'VALIDATION_FAILED' },
    { name: 'hand.set string', frame: { type: 'hand.set', raised: 'yes' }, code: 'VALIDATION_FAILED' },
    { name: 'host.remove bad id', frame: { type: 'host.remove', participantId: '<script>' }, code: 'VALIDATION_FAILED' },
    { name: 'host.mute bad kind', frame: { type: 'host.mute', participantId: 'abcdefgh12', kind: 'smell' }, code: 'VALIDATION_FAILED' },
    { name: 'host.setRole to host', frame: { type: 'host.setRole', participantId: 'abcdefgh12', role: 'host' }, code: 'VALIDATION_FAILED' },
    { name: 'host.admit missing id', frame: { type: 'host.admit' }, code: 'VALIDATION_FAILED' },
    { name: 'host.deny short id', frame: { type: 'host.deny', participantId: 'x' }, code: 'VALIDATION_FAILED' },
    { name: 'host.lock missing flag', frame: { type: 'host.lock' }, code: 'VALIDATION_FAILED' },
    { name: 'host.lowerHand bad id', frame: { type: 'host.lowerHand', participantId: 7 }, code: 'VALIDATION_FAILED' },
    { name: 'host.end bad ref', frame: { type: 'host.end', ref: 'r'.repeat(65) }, code: 'VALIDATION_FAILED' },
    { name: 'recording.start bad ref', frame: { type: 'recording.start', ref: 7 }, code: 'VALIDATION_FAILED' },
    { name: 'recording.stop bad ref', frame: { type: 'recording.stop', ref: ['x'] }, code: 'VALIDATION_FAILED' },
    { name: 'media.refresh bad ref', frame: { type: 'media.refresh', ref: { a: 1 } }, code: 'VALIDATION_FAILED' },
    { name: 'ping bad ref', frame: { type: 'ping', ref: false }, code: 'VALIDATION_FAILED' },
    { name: 'oversized', frame: JSON.stringify({ type: 'chat.send', text: 'x'.repeat(70_000) }), code: 'PAYLOAD_TOO_LARGE' },
  ];

  it('answers each with an error code, changes nothing, and keeps the socket open', async () => {
    const room = await meetingWith(1);
    const before = await snapshot(room.settings.linkId);
    const socket = room.host.socket;
    for (const [index, testCase] of cases.entries()) {
      socket.send(typeof testCase.frame === 'string' ? testCase.frame : (testCase.frame as Record<string, unknown>));
      await expect.poll(() => socket.inbox.received.filter((m) => m.type === 'error').length, { timeout: 5_000 }).toBe(index + 1);
      const error = socket.inbox.received.filter((m) => m.type === 'error')[index];
      expect(error, testCase.name).toMatchObject({ code: testCase.code });
    }
    // Every client message type is covered.
    const covered = new Set(cases.map((c) => (typeof c.frame === 'object' && c.frame ? (c.frame as { type?: string }).type : undefined)));
    for (const type of ['chat.send', 'hand.set', 'host.remove', 'host.mute', 'host.setRole', 'host.admit', 'host.deny', 'host.lock', 'host.lowerHand', 'host.end', 'recording.start', 'recording.stop', 'media.refresh', 'ping']) {
      expect(covered.has(type), type).toBe(true);
    }
    expect(await snapshot(room.settings.linkId)).toEqual(before);
    expect(room.node.commands()).toEqual([]);
    socket.send({ type: 'ping' });
    await socket.next('pong');
  });
});

describe('presence and the node', () => {
  it('raises hands, refreshes media tokens and tells others when someone leaves', async () => {
    const room = await meetingWith(1);
    const guest = room.guests[0]!;
    expect(await guest.socket.request({ type: 'hand.set', raised: true })).toMatchObject({ type: 'ack' });
    expect((await room.host.socket.next('participant.updated')).participant).toMatchObject({ participantId: guest.participantId, handRaised: true });
    // Only a moderator lowers someone else's hand; the host does, and the guest sees it lowered.
    expect(await guest.socket.request({ type: 'host.lowerHand', participantId: guest.participantId })).toMatchObject({ type: 'error', code: 'NOT_HOST' });
    expect(await room.host.socket.request({ type: 'host.lowerHand', participantId: guest.participantId })).toMatchObject({ type: 'ack' });
    expect((await guest.socket.next('participant.updated', (m) => !m.participant.handRaised)).participant).toMatchObject({ participantId: guest.participantId, handRaised: false });
    expect(await guest.socket.request({ type: 'media.refresh' })).toMatchObject({ type: 'ack' });
    expect((await guest.socket.next('media.assignment')).media.nodeId).toBe(room.node.nodeId);
    guest.socket.close();
    expect(await room.host.socket.next('participant.left')).toMatchObject({ participantId: guest.participantId, reason: 'left' });
  });

  it('lets a dropped participant back in with its session; a second connection replaces the first', async () => {
    const room = await meetingWith(1);
    const guest = room.guests[0]!;
    guest.socket.close();
    await room.host.socket.next('participant.left', (m) => m.participantId === guest.participantId);
    const back = await openRoomSocket(room.settings.linkId, guest.session);
    cleanup.push(() => back.close());
    expect((await back.next('welcome')).self.participantId).toBe(guest.participantId);
    await room.host.socket.next('participant.joined', (m) => m.participant.participantId === guest.participantId);
    const second = await openRoomSocket(room.settings.linkId, guest.session);
    cleanup.push(() => second.close());
    await second.next('welcome');
    expect(await back.next('closed')).toMatchObject({ code: 'CONFLICT' });
    expect(await back.whenClosed()).toBe(4005);
    // The takeover is not a departure.
    expect(room.host.socket.inbox.received.filter((m) => m.type === 'participant.left')).toHaveLength(1);
    expect(await second.request({ type: 'ping' })).toMatchObject({ type: 'ack' });
  });

  it('a raised hand stays up across a room-socket blip (its place in the queue kept), not across a long absence', async () => {
    const room = await meetingWith(1);
    const guest = room.guests[0]!;
    expect(await guest.socket.request({ type: 'hand.set', raised: true })).toMatchObject({ type: 'ack' });
    const hostSaw = () => room.host.socket.inbox.received.flatMap((m) => (m.type === 'participant.joined' && m.participant.participantId === guest.participantId ? [m.participant] : []));
    const comeBack = async () => {
      const before = hostSaw().length;
      const back = await openRoomSocket(room.settings.linkId, guest.session);
      cleanup.push(() => back.close());
      const welcome = await back.next('welcome');
      await expect.poll(() => hostSaw().length).toBe(before + 1);
      return { back, self: welcome.self.handRaised, seenByHost: hostSaw().at(-1)!.handRaised };
    };
    guest.socket.close();
    await room.host.socket.next('participant.left', (m) => m.participantId === guest.participantId);
    const blip = await comeBack();
    expect({ self: blip.self, seenByHost: blip.seenByHost }).toEqual({ self: true, seenByHost: true });

    // Out for longer than a blip: they come back as anew, hand down.
    blip.back.close();
    await expect.poll(() => runInDurableObject(roomStub(room.settings.linkId), (instance: RoomDO) => instance.room.participants.get(guest.participantId)?.status)).toBe('left');
    await runInDurableObject(roomStub(room.settings.linkId), (instance: RoomDO, state) => {
      state.storage.sql.exec('UPDATE participants SET left_at = left_at - ? WHERE participant_id = ?', 31_000, guest.participantId);
      instance.room.participants.forgetAll();
    });
    const later = await comeBack();
    expect({ self: later.self, seenByHost: later.seenByHost }).toEqual({ self: false, seenByHost: false });
  });

  it('moves everyone to a new node when a client cannot reach a node the region already dropped', async () => {
    const room = await meetingWith(1);
    const spare = await connectFakeNode({ region: 'nbo' });
    cleanup.push(() => spare.retire());
    // The region wrote the node off, but its notice to the room went astray.
    await runInDurableObject(regionStubFor('nbo'), (instance: RegionDO) => {
      (instance as unknown as { store: { markDown(nodeId: string): string[] } }).store.markDown(room.node.nodeId);
    });
    expect((await snapshot(room.settings.linkId)).assignment?.nodeId).toBe(room.node.nodeId);

    // The guest's media connection failed, so its client asks again: both move to the live node.
    expect(await room.guests[0]!.socket.request({ type: 'media.refresh' })).toMatchObject({ type: 'ack' });
    for (const seat of [room.host, room.guests[0]!]) {
      const moved = await seat.socket.next('media.assignment', (m) => m.media.nodeId === spare.nodeId);
      expect(moved.media.token.length).toBeGreaterThan(20);
    }
    expect((await snapshot(room.settings.linkId)).assignment?.nodeId).toBe(spare.nodeId);

    // A refresh while the node is alive keeps it and moves nobody.
    const before = room.host.socket.inbox.received.filter((m) => m.type === 'media.assignment').length;
    expect(await room.guests[0]!.socket.request({ type: 'media.refresh' })).toMatchObject({ type: 'ack' });
    expect((await snapshot(room.settings.linkId)).assignment?.nodeId).toBe(spare.nodeId);
    expect(room.host.socket.inbox.received.filter((m) => m.type === 'media.assignment')).toHaveLength(before);
  });

  it('releases the node after the last participant left and the grace period passed', async () => {
    const room = await meetingWith(0);
    const stub = roomStub(room.settings.linkId);
    room.host.socket.close();
    await expect.poll(() => runInDurableObject(stub, (i: RoomDO) => i.room.participants.count('joined'))).toBe(0);
    expect((await regionStubFor('nbo').fleet()).find((n) => n.nodeId === room.node.nodeId)?.rooms).toBe(1);
    // Let the grace period pass.
    await runInDurableObject(stub, (_i: RoomDO, state) => {
      state.storage.sql.exec(`UPDATE ${TIMERS_TABLE} SET at = 0 WHERE name = ?`, RELEASE_TIMER);
    });
    await runDurableObjectAlarm(stub);
    expect(await runInDurableObject(stub, (i: RoomDO) => i.room.meeting.assignment())).toBeNull();
    expect((await regionStubFor('nbo').fleet()).find((n) => n.nodeId === room.node.nodeId)?.rooms).toBe(0);
  });

  it('moves connected participants to a new node when theirs is marked down', async () => {
    const room = await meetingWith(1);
    room.node.stall();
    const spare = await connectFakeNode({ region: 'nbo' });
    cleanup.push(() => spare.retire());
    await runInDurableObject(regionStubFor('nbo'), (_i: RegionDO, state) => {
      state.storage.sql.exec('UPDATE nodes SET last_heartbeat_at = ? WHERE node_id = ?', Date.now() - 60_000, room.node.nodeId);
    });
    await runDurableObjectAlarm(regionStubFor('nbo'));
    for (const seat of [room.host, ...room.guests]) {
      const moved = await seat.socket.next('media.assignment', (m) => m.media.nodeId === spare.nodeId);
      expect(moved.media.token).toBeTruthy();
    }
  });
});

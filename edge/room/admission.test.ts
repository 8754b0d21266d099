import { runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MeetingSettings } from '../../schema/wire/http.js';
import { registerUser } from '../test/helpers.js';
import { joinMeeting, openRoomSocket, roomStub, seatedMeeting, type Seat } from '../test/kits/room-kit.js';
import { waitFor } from '../test/kits/wait.js';
import type { RoomDO } from './room-do.js';

// This file's meetings live in San Francisco; no other test file places media there.
const SAN_FRANCISCO = { latitude: '37.7749', longitude: '-122.4194' };

let host: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Host Hale');
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) done();
});

function meetingWith(guests: number, overrides: Partial<MeetingSettings> = {}) {
  return seatedMeeting({ host, region: 'sfo', cf: SAN_FRANCISCO, cleanup, guests, settings: overrides });
}

/**
 * Every way into the meeting — join, host admit, and each socket connect or reconnect — passes the
 * one admission check (edge/room/admission.ts). Joins' own refusals are in join.test.ts.
 */
describe('admission on every entry', () => {
  it('a removed guest cannot come back on an older "left" session of the same browser, and gets no media token', async () => {
    const room = await meetingWith(0);
    const link = room.settings.linkId;
    const browserKey = `key-${crypto.randomUUID()}`;
    // An earlier visit: in, then out. Its participant is "left"; the browser still has its session.
    const earlier = await joinMeeting(link, { displayName: 'Mallory', guestKey: browserKey }, { cf: SAN_FRANCISCO, ip: '198.51.100.21' });
    const first = await openRoomSocket(link, earlier.body.roomSession);
    await first.next('welcome');
    first.close();
    await room.host.socket.next('participant.left', (m) => m.participantId === earlier.body.participantId);
    // Back from the same browser on another network under another name, and removed.
    const later = await joinMeeting(link, { displayName: 'Mal', guestKey: browserKey }, { cf: SAN_FRANCISCO, ip: '203.0.113.21' });
    const second = await openRoomSocket(link, later.body.roomSession);
    cleanup.push(() => second.close());
    await second.next('welcome');
    expect(await room.host.socket.request({ type: 'host.remove', participantId: later.body.participantId })).toMatchObject({ type: 'ack' });
    await second.next('closed');

    const sneak = await openRoomSocket(link, earlier.body.roomSession);
    cleanup.push(() => sneak.close());
    expect(await sneak.next('closed')).toMatchObject({ code: 'REMOVED_BY_HOST' });
    expect(await sneak.whenClosed()).toBe(4003);
    expect(sneak.inbox.received.filter((m) => m.type === 'welcome' || m.type === 'media.assignment')).toEqual([]);
    const status = await runInDurableObject(roomStub(link), (i: RoomDO) => i.room.participants.get(earlier.body.participantId)?.status);
    expect(status).toBe('left');
  });

  it('admits through the same check: a removed guest’s other tab is neither admitted nor reconnected', async () => {
    const room = await meetingWith(0, { waitingRoom: true });
    const link = room.settings.linkId;
    const browserKey = `key-${crypto.randomUUID()}`;
    const knock = async (displayName: string) => {
      const joined = await joinMeeting(link, { displayName, guestKey: browserKey }, { cf: SAN_FRANCISCO });
      expect(joined.body.status).toBe('waiting');
      const socket = await openRoomSocket(link, joined.body.roomSession);
      cleanup.push(() => socket.close());
      await socket.next('waiting');
      return { participantId: joined.body.participantId as string, session: joined.body.roomSession as string, socket };
    };
    const inside = await knock('Mallory');
    expect(await room.host.socket.request({ type: 'host.admit', participantId: inside.participantId })).toMatchObject({ type: 'ack' });
    await inside.socket.next('welcome');
    const otherTab = await knock('Mallory Two');
    expect(await room.host.socket.request({ type: 'host.remove', participantId: inside.participantId })).toMatchObject({ type: 'ack' });

    expect(await room.host.socket.request({ type: 'host.admit', participantId: otherTab.participantId })).toMatchObject({ type: 'error', code: 'REMOVED_BY_HOST' });
    const again = await openRoomSocket(link, otherTab.session);
    cleanup.push(() => again.close());
    expect(await again.next('closed')).toMatchObject({ code: 'REMOVED_BY_HOST' });
    expect(otherTab.socket.inbox.received.some((m) => m.type === 'welcome')).toBe(false);
  });

  it('turning the waiting room off lets in whoever was waiting, as anyone arriving now walks in; a full meeting keeps the rest waiting', async () => {
    const room = await meetingWith(0, { waitingRoom: true, maxParticipants: 3 });
    const link = room.settings.linkId;
    const knock = async (displayName: string) => {
      const joined = await joinMeeting(link, { displayName }, { cf: SAN_FRANCISCO });
      expect(joined.body.status).toBe('waiting');
      const socket = await openRoomSocket(link, joined.body.roomSession);
      cleanup.push(() => socket.close());
      await socket.next('waiting');
      return { participantId: joined.body.participantId as string, socket };
    };
    const early = await knock('Early Eve');
    const second = await knock('Second Sam');
    const third = await knock('Third Tia');

    // The host turns the waiting room off (PATCH /meetings/:link does this).
    await roomStub(link).configure({ ...room.settings, waitingRoom: false, version: room.settings.version + 1 });
    // In order of knocking, while there is room: host + 2 fill the meeting of 3.
    await early.socket.next('admitted');
    await second.socket.next('admitted');
    await early.socket.next('welcome');
    const statusOf = (id: string) => runInDurableObject(roomStub(link), (instance: RoomDO) => instance.room.participants.get(id)?.status);
    expect([await statusOf(early.participantId), await statusOf(second.participantId), await statusOf(third.participantId)]).toEqual(['joined', 'joined', 'waiting']);
  });

  it('turning the waiting room off in a locked meeting keeps whoever waits out (the lock applies, as to a join)', async () => {
    const room = await meetingWith(0, { waitingRoom: true });
    const link = room.settings.linkId;
    const joined = await joinMeeting(link, { displayName: 'Knocker' }, { cf: SAN_FRANCISCO });
    expect(joined.body.status).toBe('waiting');
    const socket = await openRoomSocket(link, joined.body.roomSession);
    cleanup.push(() => socket.close());
    await socket.next('waiting');
    expect(await room.host.socket.request({ type: 'host.lock', locked: true })).toMatchObject({ type: 'ack' });
    await roomStub(link).configure({ ...room.settings, waitingRoom: false, version: room.settings.version + 1 });
    const status = await runInDurableObject(roomStub(link), (instance: RoomDO) => instance.room.participants.get(joined.body.participantId)?.status);
    expect(status).toBe('waiting');
    // The host's own admit still lets this person in (the host chose them).
    expect(await room.host.socket.request({ type: 'host.admit', participantId: joined.body.participantId })).toMatchObject({ type: 'ack' });
    await socket.next('admitted');
  });

  it('a locked meeting takes back whoever was in when it was locked, not who had left before', async () => {
    const room = await meetingWith(2);
    const link = room.settings.linkId;
    const stub = roomStub(link);
    const [stays, gone] = room.guests as [Seat, Seat];
    gone.socket.close();
    await room.host.socket.next('participant.left', (m) => m.participantId === gone.participantId);
    // The lock must come strictly after the departure (the room's clock moves only between events).
    const goneAt = await runInDurableObject(stub, (i: RoomDO) => i.room.participants.get(gone.participantId)!.leftAt!);
    await waitFor('the room clock to pass the departure', () => runInDurableObject(stub, () => Date.now()), (now) => now > goneAt, { intervalMs: 5 });
    expect(await room.host.socket.request({ type: 'host.lock', locked: true })).toMatchObject({ type: 'ack' });

    // A dropped socket of someone who was in: back in despite the lock.
    stays.socket.close();
    await room.host.socket.next('participant.left', (m) => m.participantId === stays.participantId);
    const back = await openRoomSocket(link, stays.session);
    cleanup.push(() => back.close());
    expect((await back.next('welcome')).self.participantId).toBe(stays.participantId);

    // Whoever had left before the lock is new to it.
    const late = await openRoomSocket(link, gone.session);
    cleanup.push(() => late.close());
    expect(await late.next('closed')).toMatchObject({ code: 'MEETING_LOCKED' });
    expect(late.inbox.received.some((m) => m.type === 'welcome')).toBe(false);
    expect(await room.host.socket.request({ type: 'host.lock', locked: false })).toMatchObject({ type: 'ack' });
    const unlocked = await openRoomSocket(link, gone.session);
    cleanup.push(() => unlocked.close());
    expect((await unlocked.next('welcome')).self.participantId).toBe(gone.participantId);
  });
});

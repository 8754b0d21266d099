import { runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MeetingSettings } from '../../../schema/wire/http.js';
import { BANS_TABLE, IDENTITIES_TABLE } from '../../room/bans.js';
import type { RoomDO } from '../../room/room-do.js';
import { registerUser } from '../helpers.js';
import { joinMeeting, openRoomSocket, roomStub, seatedMeeting, type Seat } from '../kits/room-kit.js';

/**
 * Issue 13, points 2 and 3: who the host removed or turned away stays out — by account and by
 * browser, never by network — and the same person's other sessions go with them.
 */
// This file's meetings live in Mumbai; no other security test places media there.
const MUMBAI = { latitude: '19.0760', longitude: '72.8777' };

let host: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Host Hanna');
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) done();
});

function meetingWith(guests: number, settings: Partial<MeetingSettings> = {}) {
  return seatedMeeting({ host, region: 'bom', cf: MUMBAI, cleanup, guests, settings });
}

const browserKey = () => `key-${crypto.randomUUID()}`;

/** Joins through the room's RPC as the Worker does, with a browser key also for a signed-in user. */
async function joinRoom(linkId: string, input: { user?: { id: string; displayName: string }; displayName?: string; guestKey?: string; networkHash?: string }) {
  return roomStub(linkId).join({ user: input.user ?? null, displayName: input.displayName, guestKey: input.guestKey, networkHash: input.networkHash, regions: ['bom'] });
}

async function connect(linkId: string, session: string) {
  const socket = await openRoomSocket(linkId, session);
  cleanup.push(() => socket.close());
  return socket;
}

describe('removal bars the account and the browser, not the network (point 2)', () => {
  it('a removed signed-in user cannot come back as a guest, from the same browser or under their name', async () => {
    const room = await meetingWith(0);
    const link = room.settings.linkId;
    const walter = await registerUser('Walter Wu');
    const key = browserKey();
    const joined = await joinRoom(link, { user: walter.user, guestKey: key, networkHash: 'net-walter' });
    if (!joined.ok) throw new Error(joined.message);
    const socket = await connect(link, joined.value.roomSession);
    await socket.next('welcome');
    expect(await room.host.socket.request({ type: 'host.remove', participantId: joined.value.participantId })).toMatchObject({ type: 'ack' });
    await socket.next('closed');

    // Signed out, same browser, another name and network: still the removed person.
    expect(await joinRoom(link, { displayName: 'Just A Guest', guestKey: key, networkHash: 'net-elsewhere' })).toMatchObject({ ok: false, code: 'REMOVED_BY_HOST' });
    // Signed out in another browser, under the name everyone saw: out too.
    const asGuest = await joinMeeting(link, { displayName: 'walter wu', guestKey: browserKey() }, { cf: MUMBAI, ip: '198.51.100.40' });
    expect(asGuest.status).toBe(403);
    expect(asGuest.body.error.code).toBe('REMOVED_BY_HOST');
    // Another account that happens to share the name is not barred by it.
    const namesake = await registerUser('Walter Wu');
    expect((await joinMeeting(link, {}, { cf: MUMBAI, token: namesake.token })).status).toBe(200);
  });

  it('keeps browser keys only hashed, and lets neighbours behind the same address in', async () => {
    const room = await meetingWith(0);
    const link = room.settings.linkId;
    const key = browserKey();
    const mallory = await joinMeeting(link, { displayName: 'Mallory', guestKey: key }, { cf: MUMBAI, ip: '198.51.100.41' });
    const socket = await connect(link, mallory.body.roomSession);
    await socket.next('welcome');
    expect(await room.host.socket.request({ type: 'host.remove', participantId: mallory.body.participantId })).toMatchObject({ type: 'ack' });
    await socket.next('closed');

    const stored = await runInDurableObject(roomStub(link), (_instance: RoomDO, state) => {
      const sql = state.storage.sql;
      return [
        ...sql.exec<{ identity: string }>(`SELECT identity FROM ${BANS_TABLE}`).toArray(),
        ...sql.exec<{ identity: string }>(`SELECT identity FROM ${IDENTITIES_TABLE}`).toArray(),
      ].map((row) => row.identity);
    });
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.filter((identity) => identity.includes(key))).toEqual([]);
    expect(stored.filter((identity) => identity.startsWith('net:'))).toEqual([]);

    // Same browser under a new name: out. Someone else on Mallory's network: in.
    expect((await joinMeeting(link, { displayName: 'Not Mallory', guestKey: key }, { cf: MUMBAI, ip: '203.0.113.41' })).body.error.code).toBe('REMOVED_BY_HOST');
    expect((await joinMeeting(link, { displayName: 'Neighbour', guestKey: browserKey() }, { cf: MUMBAI, ip: '198.51.100.41' })).status).toBe(200);
  });

  it("removes the person's other sessions already in the meeting (same account, same browser)", async () => {
    const room = await meetingWith(1);
    const link = room.settings.linkId;
    const [bystander] = room.guests as [Seat];
    const eve = await registerUser('Eve');
    const key = browserKey();
    // Eve signed in on a laptop and a phone, and the phone's browser also joined as a guest.
    const laptop = await room.seat({}, eve.token);
    const phone = await joinRoom(link, { user: eve.user, guestKey: key });
    const phoneGuest = await joinRoom(link, { displayName: 'Evie', guestKey: key });
    if (!phone.ok || !phoneGuest.ok) throw new Error('join failed');
    const phoneSocket = await connect(link, phone.value.roomSession);
    const phoneGuestSocket = await connect(link, phoneGuest.value.roomSession);
    await phoneSocket.next('welcome');
    await phoneGuestSocket.next('welcome');

    expect(await room.host.socket.request({ type: 'host.remove', participantId: laptop.participantId })).toMatchObject({ type: 'ack' });
    for (const socket of [laptop.socket, phoneSocket, phoneGuestSocket]) expect(await socket.next('closed')).toMatchObject({ code: 'REMOVED_BY_HOST' });
    const statuses = await runInDurableObject(roomStub(link), (instance: RoomDO) =>
      [laptop.participantId, phone.value.participantId, phoneGuest.value.participantId, bystander.participantId].map((id) => instance.room.participants.get(id)?.status),
    );
    expect(statuses).toEqual(['removed', 'removed', 'removed', 'joined']);
    const closed = room.node.commands('closeParticipant').map((command) => (command.command === 'closeParticipant' ? command.participantId : null));
    expect(new Set(closed)).toEqual(new Set([laptop.participantId, phone.value.participantId, phoneGuest.value.participantId]));

    // One lift (of the removal the host made) lets the person back.
    expect(await room.host.socket.request({ type: 'host.admit', participantId: laptop.participantId })).toMatchObject({ type: 'ack' });
    expect((await joinMeeting(link, {}, { cf: MUMBAI, token: eve.token })).status).toBe(200);
  });
});

describe('the waiting room (point 3)', () => {
  async function knock(linkId: string, body: object, ip: string, token?: string) {
    return joinMeeting(linkId, body, { cf: MUMBAI, ip, ...(token ? { token } : {}) });
  }

  it('a denied person cannot knock again until the host admits them', async () => {
    const room = await meetingWith(0, { waitingRoom: true });
    const link = room.settings.linkId;
    const key = browserKey();
    const first = await knock(link, { displayName: 'Knocky', guestKey: key }, '198.51.100.50');
    expect(first.body.status).toBe('waiting');
    const socket = await connect(link, first.body.roomSession);
    await socket.next('waiting');
    expect(await room.host.socket.request({ type: 'host.deny', participantId: first.body.participantId })).toMatchObject({ type: 'ack' });
    expect(await socket.next('closed')).toMatchObject({ code: 'ADMISSION_DENIED' });

    // At once, from the same browser under another name and network: still turned away.
    const again = await knock(link, { displayName: 'Knocky Two', guestKey: key }, '203.0.113.50');
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe('ADMISSION_DENIED');
    // Others still knock, also from the same network.
    expect((await knock(link, { displayName: 'Polite', guestKey: browserKey() }, '198.51.100.50')).body.status).toBe('waiting');

    // The host admits the denied person: they may knock again, and get in when admitted.
    expect(await room.host.socket.request({ type: 'host.admit', participantId: first.body.participantId })).toMatchObject({ type: 'ack' });
    const back = await knock(link, { displayName: 'Knocky', guestKey: key }, '198.51.100.50');
    expect(back.body.status).toBe('waiting');
  });

  it('a denied signed-in user cannot knock again from another device', async () => {
    const room = await meetingWith(0, { waitingRoom: true });
    const link = room.settings.linkId;
    const dan = await registerUser('Dan');
    const first = await knock(link, {}, '198.51.100.51', dan.token);
    expect(first.body.status).toBe('waiting');
    expect(await room.host.socket.request({ type: 'host.deny', participantId: first.body.participantId })).toMatchObject({ type: 'ack' });
    expect((await knock(link, {}, '203.0.113.51', dan.token)).body.error.code).toBe('ADMISSION_DENIED');
  });

  it('holds at most WAITING_ROOM_CAP people', async () => {
    const { WAITING_ROOM_CAP } = await import('../../room/admission.js');
    const room = await meetingWith(0, { waitingRoom: true });
    const link = room.settings.linkId;
    for (let i = 0; i < WAITING_ROOM_CAP; i++) {
      const waiting = await knock(link, { displayName: `Queue ${i}` }, `203.0.113.${i % 250}-${i}`);
      expect(waiting.body.status, `knock ${i}`).toBe('waiting');
    }
    const full = await knock(link, { displayName: 'One Too Many' }, '198.51.100.52');
    expect(full.body.error.code).toBe('MEETING_FULL');
  });

  it('limits knocks per network per minute, with a retry time', async () => {
    const { KNOCKS_PER_SOURCE } = await import('../../room/attempt-limits.js');
    const room = await meetingWith(0, { waitingRoom: true });
    const link = room.settings.linkId;
    for (let i = 0; i < KNOCKS_PER_SOURCE.max; i++) expect((await knock(link, { displayName: `Knock ${i}` }, '198.51.100.53')).body.status).toBe('waiting');
    const limited = await knock(link, { displayName: 'Knock more' }, '198.51.100.53');
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/try again in \d+ s/) });
    expect((await knock(link, { displayName: 'Elsewhere' }, '203.0.113.53')).body.status).toBe('waiting');
  });
});

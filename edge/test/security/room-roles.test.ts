import { runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RoomDO } from '../../room/room-do.js';
import { registerUser } from '../helpers.js';
import { joinMeeting, roomStub, seatedMeeting, type Seat } from '../kits/room-kit.js';

/**
 * Issue 13, points 9, 10, 11 and 14 (edge side): what only the host may do, host mute enforced by
 * the node, names that cannot pass for something else, and an ended meeting's node told at once.
 */
// This file's meetings live in Tokyo; no other security test places media there.
const TOKYO = { latitude: '35.6762', longitude: '139.6503' };

let host: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Host Hiro');
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) done();
});

function meetingWith(guests: number) {
  return seatedMeeting({ host, region: 'tyo', cf: TOKYO, cleanup, guests });
}

async function withCohost(guests: number) {
  const room = await meetingWith(guests + 1);
  const [cohost, ...others] = room.guests as [Seat, ...Seat[]];
  expect(await room.host.socket.request({ type: 'host.setRole', participantId: cohost.participantId, role: 'cohost' })).toMatchObject({ type: 'ack' });
  return { room, cohost, others };
}

describe('only the host ends the meeting for everyone (point 9)', () => {
  it('a co-host cannot end it; the host can', async () => {
    const { room, cohost } = await withCohost(0);
    expect(await cohost.socket.request({ type: 'host.end' })).toMatchObject({ type: 'error', code: 'NOT_HOST' });
    expect(await runInDurableObject(roomStub(room.settings.linkId), (i: RoomDO) => i.room.meeting.ended())).toBe(false);
    expect(room.node.commands('closeMeeting')).toEqual([]);
    room.host.socket.send({ type: 'host.end' });
    expect(await cohost.socket.next('closed')).toMatchObject({ code: 'MEETING_ENDED' });
  });
});

describe('host mute is enforced by the node (point 10)', () => {
  it('each mute tells the node the unmute policy; moderators change it, the node and everyone are told', async () => {
    const { room, cohost, others } = await withCohost(1);
    const [target] = others as [Seat];
    const link = room.settings.linkId;
    expect(await room.host.socket.request({ type: 'host.mute', participantId: target.participantId, kind: 'audio' })).toMatchObject({ type: 'ack' });
    expect(await room.node.command('muteParticipant', link)).toMatchObject({ participantId: target.participantId, kind: 'audio', participantsMayUnmute: true });

    // A guest may not change the policy; a co-host may.
    expect(await target.socket.request({ type: 'host.allowUnmute', allowed: false })).toMatchObject({ type: 'error', code: 'NOT_HOST' });
    expect(room.node.commands('setUnmutePolicy')).toEqual([]);
    expect(await cohost.socket.request({ type: 'host.allowUnmute', allowed: false })).toMatchObject({ type: 'ack' });
    expect(await room.node.command('setUnmutePolicy', link)).toMatchObject({ meetingId: link, participantsMayUnmute: false });
    expect((await target.socket.next('meeting.updated', (m) => !m.meeting.participantsMayUnmute)).meeting.participantsMayUnmute).toBe(false);

    expect(await room.host.socket.request({ type: 'host.mute', participantId: target.participantId, kind: 'video' })).toMatchObject({ type: 'ack' });
    await expect.poll(() => room.node.commands('muteParticipant').length).toBe(2);
    expect(room.node.commands('muteParticipant')[1]).toMatchObject({ kind: 'video', participantsMayUnmute: false });
  });

  it('when the node lets a muted participant unmute, the room stops showing them muted', async () => {
    const room = await meetingWith(1);
    const [target] = room.guests as [Seat];
    const link = room.settings.linkId;
    expect(await room.host.socket.request({ type: 'host.mute', participantId: target.participantId })).toMatchObject({ type: 'ack' });
    await room.host.socket.next('participant.updated', (m) => m.participant.participantId === target.participantId && m.participant.mutedByHost.audio);
    room.node.send({ type: 'event', event: { event: 'participantUnmuted', meetingId: link, participantId: target.participantId, kind: 'audio' } });
    const updated = await room.host.socket.next('participant.updated', (m) => m.participant.participantId === target.participantId && !m.participant.mutedByHost.audio);
    expect(updated.participant.mutedByHost).toEqual({ audio: false, video: true });
  });
});

describe('display names (point 11)', () => {
  it('are NFC, without bidi or zero-width characters or role dressing, and whole graphemes within the limit', async () => {
    const room = await meetingWith(0);
    const link = room.settings.linkId;
    const names: [string, string][] = [
      ['\u202Eecila\u202C', 'ecila'],
      ['Al\u200Bice (Host)', 'Alice'],
      ['[co-host] Bob', 'Bob'],
      ['Zoe\u0308', 'Zoë'],
      ['👩‍💻 Dev', '👩‍💻 Dev'],
      ['😀😀😀😀😀😀😀😀😀a', '😀😀😀😀😀😀😀😀😀a'],
    ];
    for (const [given, expected] of names) {
      const joined = await joinMeeting(link, { displayName: given }, { cf: TOKYO });
      expect(joined.status, given).toBe(200);
      const stored = await runInDurableObject(roomStub(link), (i: RoomDO) => i.room.participants.get(joined.body.participantId)?.displayName);
      expect(stored, JSON.stringify(given)).toBe(expected);
    }
    const invisible = await joinMeeting(link, { displayName: '\u200B\u200E\u2066' }, { cf: TOKYO });
    expect(invisible.body.error.code).toBe('VALIDATION_FAILED');
    // Signed-in users' account names pass through the same door.
    const dressed = await registerUser('Mallory (Host)');
    const joined = await joinMeeting(link, {}, { cf: TOKYO, token: dressed.token });
    expect(await runInDurableObject(roomStub(link), (i: RoomDO) => i.room.participants.get(joined.body.participantId)).then((p) => [p?.displayName, p?.role])).toEqual(['Mallory', 'participant']);
  });
});

describe('an ended meeting’s node is told at once (point 14)', () => {
  it('ending through the API (RoomDO.end) sends closeMeeting before it returns', async () => {
    const room = await meetingWith(1);
    const link = room.settings.linkId;
    await roomStub(link).end();
    // Within moments (the command is already on its way when end() returns), not at the tokens' expiry.
    await expect.poll(() => room.node.commands('closeMeeting'), { timeout: 1_000 }).toEqual([expect.objectContaining({ meetingId: link })]);
  });

  it('ending through a settings change (endedAt) does too', async () => {
    const room = await meetingWith(1);
    const link = room.settings.linkId;
    await roomStub(link).configure({ ...room.settings, endedAt: new Date().toISOString(), version: room.settings.version + 1 });
    // Within moments (the command is already on its way when end() returns), not at the tokens' expiry.
    await expect.poll(() => room.node.commands('closeMeeting'), { timeout: 1_000 }).toEqual([expect.objectContaining({ meetingId: link })]);
  });
});

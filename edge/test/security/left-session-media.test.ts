import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { letGoDue, MEDIA_LET_GO_MS } from '../../room/media-let-go.js';
import type { RoomDO } from '../../room/room-do.js';
import { registerUser } from '../helpers.js';
import { openRoomSocket, roomStub, seatedMeeting, type Seat } from '../kits/room-kit.js';

/**
 * A participant out of the room (room socket closed) is shown as gone; their media session is a
 * separate connection to the node. It must not outlive their presence: a client that drops the
 * room socket on purpose would otherwise watch and listen unseen, beyond the host's reach.
 */
// Sydney: no other security test places media there.
const SYDNEY = { latitude: '-33.8688', longitude: '151.2093' };

let host: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Host Hugo');
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) done();
});

type Room = Awaited<ReturnType<typeof seatedMeeting>>;
const closesOf = (room: Room, participantId: string) =>
  room.node.commands('closeParticipant').filter((command) => command.command === 'closeParticipant' && command.participantId === participantId);

/** The let-go deadline as the alarm runs it, `afterMs` after now (the room's own clock is real). */
const letGoIn = (room: Room, afterMs: number) =>
  runInDurableObject(roomStub(room.settings.linkId), (instance: RoomDO) => letGoDue(instance.room, instance.media, Date.now() + afterMs));

describe('media of a participant the room counts as gone', () => {
  it('removing a person also closes, for good, the media of their session that dropped off the room socket', async () => {
    const room = await seatedMeeting({ host, region: 'syd', cf: SYDNEY, cleanup, guests: 1 });
    const eve = await registerUser('Eve Evans');
    // Eve's first tab: joined (media token handed out), then its room socket drops.
    const firstTab = await room.seat({}, eve.token);
    firstTab.socket.close();
    await room.host.socket.next('participant.left', (m) => m.participantId === firstTab.participantId);
    // Eve's second tab is in the meeting; the host removes Eve.
    const secondTab: Seat = await room.seat({}, eve.token);
    expect(await room.host.socket.request({ type: 'host.remove', participantId: secondTab.participantId })).toMatchObject({ type: 'ack' });
    expect(await secondTab.socket.next('closed')).toMatchObject({ code: 'REMOVED_BY_HOST' });
    await runDurableObjectAlarm(roomStub(room.settings.linkId));
    // A removal: every token refused (no tokensIssuedBefore), at once, not after the let-go wait.
    expect(closesOf(room, firstTab.participantId)).toEqual([expect.not.objectContaining({ tokensIssuedBefore: expect.anything() })]);
    expect(closesOf(room, secondTab.participantId)).toHaveLength(1);
    await letGoIn(room, MEDIA_LET_GO_MS + 1_000);
    expect(closesOf(room, firstTab.participantId)).toHaveLength(1);
  });

  it('someone out of the room loses their media once the let-go wait has passed, and only then', async () => {
    const room = await seatedMeeting({ host, region: 'syd', cf: SYDNEY, cleanup, guests: 1 });
    const [eve] = room.guests as [Seat];
    const leftAt = Date.now();
    eve.socket.close();
    await room.host.socket.next('participant.left', (m) => m.participantId === eve.participantId);
    const deadline = await runInDurableObject(roomStub(room.settings.linkId), (instance: RoomDO) => instance.room.letGo.next());
    expect(deadline).toBeGreaterThanOrEqual(leftAt + MEDIA_LET_GO_MS);

    await letGoIn(room, MEDIA_LET_GO_MS - 5_000);
    expect(closesOf(room, eve.participantId)).toEqual([]);
    const before = Date.now();
    await letGoIn(room, MEDIA_LET_GO_MS + 1_000);
    // Let go, not removed: tokens issued so far are refused, a fresh one (a return) is not.
    const [close] = closesOf(room, eve.participantId);
    expect(close).toMatchObject({ participantId: eve.participantId, tokensIssuedBefore: expect.any(Number) });
    expect((close as { tokensIssuedBefore: number }).tokensIssuedBefore).toBeGreaterThanOrEqual(before);
  });

  it('someone who returns with their session in time keeps their media', async () => {
    const room = await seatedMeeting({ host, region: 'syd', cf: SYDNEY, cleanup, guests: 1 });
    const [eve] = room.guests as [Seat];
    eve.socket.close();
    await room.host.socket.next('participant.left', (m) => m.participantId === eve.participantId);
    const back = await openRoomSocket(room.settings.linkId, eve.session);
    cleanup.push(() => back.close());
    await back.next('welcome');
    await letGoIn(room, MEDIA_LET_GO_MS + 1_000);
    expect(closesOf(room, eve.participantId)).toEqual([]);
  });

  it('nothing to let go once the node said their media session ended', async () => {
    const room = await seatedMeeting({ host, region: 'syd', cf: SYDNEY, cleanup, guests: 1 });
    const [eve] = room.guests as [Seat];
    eve.socket.close();
    await room.host.socket.next('participant.left', (m) => m.participantId === eve.participantId);
    room.node.event({ event: 'participantLeft', meetingId: room.settings.linkId, participantId: eve.participantId, reason: 'left' });
    const pending = () => runInDurableObject(roomStub(room.settings.linkId), (instance: RoomDO) => instance.room.letGo.pending());
    for (let i = 0; i < 100 && (await pending()).includes(eve.participantId); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await pending()).toEqual([]);
    await letGoIn(room, MEDIA_LET_GO_MS + 1_000);
    expect(closesOf(room, eve.participantId)).toEqual([]);
  });
});

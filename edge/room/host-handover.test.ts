import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../test/helpers.js';
import { joinMeeting, openRoomSocket, roomStub, seatedMeeting } from '../test/kits/room-kit.js';
import { handOverHost } from './host-handover.js';
import { OUT_BRIEFLY_MS } from './participants.js';
import type { RoomDO } from './room-do.js';
import { TIMERS_TABLE } from './timers.js';

/**
 * The host leaves without ending the meeting (Leave, a closed laptop, a crash). Someone must still
 * run it: let the waiting room in, remove someone, end it for everyone. As in Zoom, host goes to a
 * co-host, else to whoever has been in longest, once the host has been gone longer than a blip;
 * the meeting's owner coming back takes it again. This file's meetings live in Astana.
 */
const ASTANA = { latitude: '51.1694', longitude: '71.4491' };

let owner: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  owner = await registerUser('Host Hana');
});
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) done();
});

const roles = (link: string) =>
  runInDurableObject(roomStub(link), (instance: RoomDO) => Object.fromEntries(instance.room.participants.withStatus('joined').map((p) => [p.displayName, p.role])));

/**
 * `ms` pass in the room: every time it keeps (who left when, its deadlines) moves back by `ms`, and
 * its alarm runs whatever is due then.
 */
async function timePasses(link: string, ms: number): Promise<void> {
  await runInDurableObject(roomStub(link), async (instance: RoomDO, state) => {
    state.storage.sql.exec('UPDATE participants SET left_at = left_at - ? WHERE left_at IS NOT NULL', ms);
    state.storage.sql.exec('UPDATE media_let_go SET due_at = due_at - ?', ms);
    state.storage.sql.exec(`UPDATE ${TIMERS_TABLE} SET at = at - ?`, ms);
    instance.room.participants.forgetAll();
    instance.room.timers.forget();
    // Scheduled, not yet due: the test runs it (runDurableObjectAlarm), not the runtime on its own.
    await state.storage.setAlarm(Date.now() + 60_000);
  });
  expect(await runDurableObjectAlarm(roomStub(link))).toBe(true);
}
const longerThanABlip = OUT_BRIEFLY_MS + 1_000;

describe('the host leaves without ending the meeting', () => {
  it('whoever has been in longest becomes host and lets the waiting room in; the owner coming back takes host again', async () => {
    const room = await seatedMeeting({ host: owner, region: 'nqz', cf: ASTANA, cleanup, guests: 2 });
    const link = room.settings.linkId;
    // The host turns the waiting room on (as PATCH /meetings/:link does).
    await roomStub(link).configure({ ...room.settings, waitingRoom: true, version: room.settings.version + 1 });
    const [first] = room.guests;
    room.host.socket.close();
    await first!.socket.next('participant.left', (m) => m.participantId === room.host.participantId);
    const knock = await joinMeeting(link, { displayName: 'Knocking Kim' }, { cf: ASTANA });
    expect(knock.body.status).toBe('waiting');
    const knocker = await openRoomSocket(link, knock.body.roomSession);
    cleanup.push(() => knocker.close());
    await knocker.next('waiting');

    await timePasses(link, longerThanABlip);
    expect(await roles(link)).toEqual({ 'Guest 0': 'host', 'Guest 1': 'guest' });
    const told = await first!.socket.next('participant.updated', (m) => m.participant.participantId === first!.participantId);
    expect(told.participant.role).toBe('host');
    // The new host sees the waiting room and lets Kim in.
    await first!.socket.next('waiting.updated', (m) => m.waiting.some((w) => w.participantId === knock.body.participantId));
    expect(await first!.socket.request({ type: 'host.admit', participantId: knock.body.participantId })).toMatchObject({ type: 'ack' });
    await knocker.next('admitted');

    // The owner is back: one host again, and the one who ran the meeting meanwhile is a co-host.
    const back = await joinMeeting(link, {}, { token: owner.token, cf: ASTANA });
    expect(back.body.role).toBe('host');
    const ownerSocket = await openRoomSocket(link, back.body.roomSession);
    cleanup.push(() => ownerSocket.close());
    await ownerSocket.next('welcome');
    expect(await roles(link)).toEqual({ 'Host Hana': 'host', 'Guest 0': 'cohost', 'Guest 1': 'guest', 'Knocking Kim': 'guest' });
  });

  it('a co-host comes first, and may end the meeting for everyone; a blip hands nothing over', async () => {
    const room = await seatedMeeting({ host: owner, region: 'nqz', cf: ASTANA, cleanup, guests: 2 });
    const link = room.settings.linkId;
    const [earlier, cohost] = room.guests as [(typeof room.guests)[0], (typeof room.guests)[0]];
    expect(await room.host.socket.request({ type: 'host.setRole', participantId: cohost.participantId, role: 'cohost' })).toMatchObject({ type: 'ack' });
    room.host.socket.close();
    await cohost.socket.next('participant.left', (m) => m.participantId === room.host.participantId);

    // Out for a few seconds only (another let-go falls due meanwhile): still nobody's host.
    await runInDurableObject(roomStub(link), (instance: RoomDO) => handOverHost(instance.room, instance.media, Date.now() + 5_000));
    expect(await roles(link)).toEqual({ 'Guest 0': 'guest', 'Guest 1': 'cohost' });
    expect(await cohost.socket.request({ type: 'host.end' })).toMatchObject({ type: 'error', code: 'NOT_HOST' });

    await timePasses(link, longerThanABlip);
    expect(await roles(link)).toEqual({ 'Guest 0': 'guest', 'Guest 1': 'host' });
    // No ack: the new host's own socket closes with everyone else's.
    cohost.socket.send({ type: 'host.end' });
    for (const seat of [cohost, earlier]) expect(await seat.socket.next('closed')).toMatchObject({ code: 'MEETING_ENDED' });
  });

  it('an acting host who left and comes back is a co-host: one host at a time', async () => {
    const room = await seatedMeeting({ host: owner, region: 'nqz', cf: ASTANA, cleanup, guests: 2 });
    const link = room.settings.linkId;
    const [first, second] = room.guests as [(typeof room.guests)[0], (typeof room.guests)[0]];
    room.host.socket.close();
    await first.socket.next('participant.left', (m) => m.participantId === room.host.participantId);
    await timePasses(link, longerThanABlip);
    expect(await roles(link)).toEqual({ 'Guest 0': 'host', 'Guest 1': 'guest' });
    // The acting host drops out too, for longer than a blip: host moves on to Guest 1.
    first.socket.close();
    await second.socket.next('participant.left', (m) => m.participantId === first.participantId);
    await timePasses(link, longerThanABlip);
    expect(await roles(link)).toEqual({ 'Guest 1': 'host' });
    // Guest 0 comes back on their room session.
    const back = await openRoomSocket(link, first.session);
    cleanup.push(() => back.close());
    await back.next('welcome');
    expect(await roles(link)).toEqual({ 'Guest 0': 'cohost', 'Guest 1': 'host' });
  });

  it('hands over even when the node already reported the host\'s media gone and someone else\'s let-go fell due first', async () => {
    const room = await seatedMeeting({ host: owner, region: 'nqz', cf: ASTANA, cleanup, guests: 2 });
    const link = room.settings.linkId;
    const [stays, goes] = room.guests as [(typeof room.guests)[0], (typeof room.guests)[0]];
    // Guest 1 closes their laptop; 5 s later the host closes theirs.
    goes.socket.close();
    await stays.socket.next('participant.left', (m) => m.participantId === goes.participantId);
    await timePasses(link, 5_000);
    room.host.socket.close();
    await stays.socket.next('participant.left', (m) => m.participantId === room.host.participantId);
    // The host's node sees their media go too and says so: the room has nothing of theirs to let go.
    room.node.event({ event: 'participantLeft', meetingId: link, participantId: room.host.participantId, reason: 'transport closed' });
    await expect.poll(() => runInDurableObject(roomStub(link), (instance: RoomDO) => instance.room.letGo.pending().includes(room.host.participantId))).toBe(false);
    // Guest 1's let-go falls due while the host has been out 26 s: nobody's host yet …
    await timePasses(link, 26_000);
    expect(await roles(link)).toEqual({ 'Guest 0': 'guest' });
    // … and once the host has been out longer than a blip, someone is.
    await timePasses(link, 10_000);
    expect(await roles(link)).toEqual({ 'Guest 0': 'host' });
  });

  it('"whoever has been in longest" counts from when they first came, not from their last blip', async () => {
    const room = await seatedMeeting({ host: owner, region: 'nqz', cf: ASTANA, cleanup, guests: 2 });
    const link = room.settings.linkId;
    const [longest, later] = room.guests as [(typeof room.guests)[0], (typeof room.guests)[0]];
    // Guest 0, in since before Guest 1, has a room-socket blip: the same presence.
    longest.socket.close();
    await later.socket.next('participant.left', (m) => m.participantId === longest.participantId);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const back = await openRoomSocket(link, longest.session);
    cleanup.push(() => back.close());
    await back.next('welcome');
    room.host.socket.close();
    await later.socket.next('participant.left', (m) => m.participantId === room.host.participantId);
    await timePasses(link, longerThanABlip);
    expect(await roles(link)).toEqual({ 'Guest 0': 'host', 'Guest 1': 'guest' });
  });
});

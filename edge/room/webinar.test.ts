import { decodeJwt } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mediaTokenClaimsSchema } from '../../schema/wire/media-token.js';
import { api, registerUser } from '../test/helpers.js';
import { joinMeeting, openRoomSocket, seatedMeeting } from '../test/kits/room-kit.js';

/*
 * Webinars (issue 14): the host presents, everyone else joins as an attendee who receives, chats
 * and raises a hand, and publishes nothing until the host invites them to speak. The media token
 * is what the node enforces, so these tests read its permissions.
 */
const SAN_FRANCISCO = { latitude: '37.7749', longitude: '-122.4194' };

let host: Awaited<ReturnType<typeof registerUser>>;
let member: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Webinar Wendy');
  member = await registerUser('Member Mo');
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0).reverse()) done();
});

function permsOf(token: string): string[] {
  return mediaTokenClaimsSchema.parse(decodeJwt(token)).perms;
}

function webinar(guests: number) {
  return seatedMeeting({ host, region: 'sfo', cf: SAN_FRANCISCO, cleanup, guests, settings: { mode: 'webinar' } });
}

describe('a webinar', () => {
  it('lets its audience in as attendees whose media token only receives; the host presents', async () => {
    const room = await webinar(0);
    const hostView = await room.host.socket.next('welcome');
    expect(hostView.self.role).toBe('host');
    expect(permsOf(hostView.media!.token)).toContain('publish');

    const guest = await joinMeeting(room.settings.linkId, { displayName: 'Audience' }, { cf: SAN_FRANCISCO });
    const signedIn = await joinMeeting(room.settings.linkId, {}, { cf: SAN_FRANCISCO, token: member.token });
    for (const joined of [guest, signedIn]) {
      expect(joined.status).toBe(200);
      expect(joined.body.role).toBe('attendee');
      expect(permsOf(joined.body.media.token)).toEqual(['subscribe']);
    }
  });

  it('lets attendees chat and raise a hand', async () => {
    const room = await webinar(1);
    const attendee = room.guests[0]!.socket;
    expect(await attendee.request({ type: 'chat.send', text: 'a question from the back' })).toMatchObject({ type: 'ack' });
    expect((await room.host.socket.next('chat.message')).message.text).toBe('a question from the back');
    expect(await attendee.request({ type: 'hand.set', raised: true })).toMatchObject({ type: 'ack' });
    await room.host.socket.next('participant.updated', (m) => m.participant.participantId === room.guests[0]!.participantId && m.participant.handRaised);
  });

  it('the host invites an attendee to speak: everyone sees it, and they get a token that publishes; attendees cannot invite', async () => {
    const room = await webinar(2);
    const [speaker, other] = room.guests as [(typeof room.guests)[0], (typeof room.guests)[0]];
    expect(await other.socket.request({ type: 'host.setRole', participantId: speaker.participantId, role: 'participant' })).toMatchObject({ type: 'error', code: 'NOT_HOST' });

    // They asked by raising a hand; being invited answers it.
    expect(await speaker.socket.request({ type: 'hand.set', raised: true })).toMatchObject({ type: 'ack' });
    room.host.socket.send({ type: 'host.setRole', participantId: speaker.participantId, role: 'participant' });
    const seen = await other.socket.next('participant.updated', (m) => m.participant.participantId === speaker.participantId);
    expect({ role: seen.participant.role, handRaised: seen.participant.handRaised }).toEqual({ role: 'guest', handRaised: false });
    const assignment = await speaker.socket.next('media.assignment');
    expect(permsOf(assignment.media.token)).toEqual(['publish', 'subscribe', 'screen']);
    // Connecting again later, the speaker keeps the right to publish.
    const again = await openRoomSocket(room.settings.linkId, speaker.session);
    cleanup.push(() => again.close());
    expect(permsOf((await again.next('welcome')).media!.token)).toContain('publish');
    // The other attendee still only watches.
    expect(other.socket.inbox.received.some((m) => m.type === 'media.assignment')).toBe(false);
    const promoted = await room.node.command('setPermissions');
    expect(promoted).toMatchObject({ participantId: speaker.participantId, permissions: ['publish', 'subscribe', 'screen'] });
    // Dated by the edge's clock, as the tokens are: the node holds to it only tokens minted by then.
    expect(promoted.changedAt).toBeGreaterThan(Date.now() - 60_000);
  });

  it('the host sends a speaker back to the audience: the node holds them to receiving at once, and their new token only receives', async () => {
    const room = await webinar(1);
    const speaker = room.guests[0]!;
    room.host.socket.send({ type: 'host.setRole', participantId: speaker.participantId, role: 'participant' });
    await speaker.socket.next('media.assignment');

    room.host.socket.send({ type: 'host.setRole', participantId: speaker.participantId, role: 'attendee' });
    const back = await speaker.socket.next('participant.updated', (m) => m.participant.participantId === speaker.participantId && m.participant.role === 'attendee');
    expect(back.participant.role).toBe('attendee');
    await expect.poll(() => room.node.commands('setPermissions').map((command) => (command as { permissions: string[] }).permissions)).toEqual([['publish', 'subscribe', 'screen'], ['subscribe']]);
    const assignments = () => speaker.socket.inbox.received.filter((m) => m.type === 'media.assignment');
    await expect.poll(() => assignments().length).toBe(2);
    expect(permsOf(assignments()[1]!.media.token)).toEqual(['subscribe']);
  });

  it('tells attendees of the presenters, not of the rest of the audience; the host hears of everyone', async () => {
    const room = await webinar(2);
    const [first, second] = room.guests as [(typeof room.guests)[0], (typeof room.guests)[0]];
    expect((await first.socket.next('welcome')).participants.map((p) => p.participantId).sort()).toEqual([room.host.participantId, first.participantId].sort());
    expect((await room.host.socket.next('welcome')).participants.length).toBe(1);
    await room.host.socket.next('participant.joined', (m) => m.participant.participantId === second.participantId);

    room.host.socket.send({ type: 'host.remove', participantId: second.participantId });
    await room.host.socket.next('participant.left', (m) => m.participantId === second.participantId);
    // Sent after the join and the leave: once it arrives, neither reached the other attendee.
    expect(await room.host.socket.request({ type: 'chat.send', text: 'welcome, everyone' })).toMatchObject({ type: 'ack' });
    await first.socket.next('chat.message', (m) => m.message.text === 'welcome, everyone');
    const aboutSecond = first.socket.inbox.received.filter((m) => (m.type === 'participant.joined' && m.participant.participantId === second.participantId) || (m.type === 'participant.left' && m.participantId === second.participantId));
    expect(aboutSecond).toEqual([]);

    // Invited to speak, an attendee is on every roster, a later attendee's included.
    room.host.socket.send({ type: 'host.setRole', participantId: first.participantId, role: 'participant' });
    await first.socket.next('participant.updated', (m) => m.participant.participantId === first.participantId && m.participant.role === 'guest');
    const late = await joinMeeting(room.settings.linkId, { displayName: 'Late' }, { cf: SAN_FRANCISCO });
    const lateSocket = await openRoomSocket(room.settings.linkId, late.body.roomSession);
    cleanup.push(() => lateSocket.close());
    const lateView = await lateSocket.next('welcome');
    expect(lateView.participants.map((p) => p.participantId).sort()).toEqual([room.host.participantId, first.participantId, late.body.participantId].sort());
  });

  it('has an audience only in webinar mode: nobody can be sent to one in a meeting', async () => {
    const room = await seatedMeeting({ host, region: 'sfo', cf: SAN_FRANCISCO, cleanup, guests: 1 });
    expect(await room.host.socket.request({ type: 'host.setRole', participantId: room.guests[0]!.participantId, role: 'attendee' })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    expect(room.node.commands('setPermissions')).toEqual([]);
  });
});

describe('creating a webinar', () => {
  it('takes an audience of up to 10,000, where a meeting takes up to 1,000; the cap holds on change too', async () => {
    const created = await api('POST', '/api/meetings', { token: host.token, json: { title: 'All hands', mode: 'webinar', maxParticipants: 10_000 } });
    expect(created.status).toBe(201);
    expect(created.body.meeting).toMatchObject({ mode: 'webinar', maxParticipants: 10_000 });
    const publicView = await api('GET', `/api/meetings/${created.body.meeting.linkId}`, { token: member.token });
    expect(publicView.body.meeting.mode).toBe('webinar');

    const tooBig = await api('POST', '/api/meetings', { token: host.token, json: { title: 'Huge', maxParticipants: 5_000 } });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.error.code).toBe('VALIDATION_FAILED');

    const meeting = await api('POST', '/api/meetings', { token: host.token, json: { title: 'Standup' } });
    expect(meeting.body.meeting.mode).toBe('meeting');
    const grown = await api('PATCH', `/api/meetings/${meeting.body.meeting.linkId}`, { token: host.token, json: { maxParticipants: 5_000 } });
    expect(grown.status).toBe(400);
    expect(grown.body.error.code).toBe('VALIDATION_FAILED');
    expect((await api('PATCH', `/api/meetings/${created.body.meeting.linkId}`, { token: host.token, json: { maxParticipants: 8_000 } })).status).toBe(200);
  });
});

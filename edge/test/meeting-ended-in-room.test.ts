import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectFakeNode } from './kits/fake-node.js';
import { joinMeeting, openRoomSocket } from './kits/room-kit.js';
import { api, registerUser } from './helpers.js';

/**
 * The host ends the meeting in the call (End for all). The room knows at once; Postgres hears
 * through the history queue, later (much later while it is down). The host's own view of the
 * meeting and its edits must agree with the room, as the pre-join page and joins already do.
 */
const ASTANA = { latitude: '51.1694', longitude: '71.4491' };

let host: Awaited<ReturnType<typeof registerUser>>;
let stranger: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Host Hana');
  stranger = await registerUser('Not The Host');
});
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) done();
});

async function meetingEndedInTheRoom(title: string): Promise<string> {
  const node = await connectFakeNode({ region: 'nqz' });
  cleanup.push(() => node.retire());
  const created = await api('POST', '/api/meetings', { token: host.token, json: { title } });
  const linkId: string = created.body.meeting.linkId;
  const joined = await joinMeeting(linkId, {}, { token: host.token, cf: ASTANA });
  expect(joined.status).toBe(200);
  const socket = await openRoomSocket(linkId, joined.body.roomSession);
  cleanup.push(() => socket.close());
  await socket.next('welcome');
  socket.send({ type: 'host.end' });
  await socket.whenClosed();
  return linkId;
}

describe('a meeting the host ended in the call', () => {
  it('reads "ended" in the host\'s own view at once, as in the public view', async () => {
    const linkId = await meetingEndedInTheRoom('Ends in the room');
    expect((await api('GET', `/api/meetings/${linkId}`)).body.meeting.status).toBe('ended');
    const own = await api('GET', `/api/meetings/${linkId}`, { token: host.token });
    expect(own.body.meeting).toMatchObject({ linkId, status: 'ended' });
    expect(own.body.meeting.joinUrl).toBeDefined(); // the owner view, not the public one
  });

  it('refuses edits as MEETING_ENDED, as after an end through the API', async () => {
    const linkId = await meetingEndedInTheRoom('Ends in the room, then edited');
    expect((await joinMeeting(linkId, {}, { token: host.token, cf: ASTANA })).body.error.code).toBe('MEETING_ENDED');
    const patched = await api('PATCH', `/api/meetings/${linkId}`, { token: host.token, json: { title: 'Next week' } });
    expect({ status: patched.status, code: patched.body.error?.code }).toEqual({ status: 410, code: 'MEETING_ENDED' });
    // Whoever is not the host is refused as such, before anything of the meeting's state is said.
    const hijack = await api('PATCH', `/api/meetings/${linkId}`, { token: stranger.token, json: { title: 'Hijacked' } });
    expect({ status: hijack.status, code: hijack.body.error?.code }).toEqual({ status: 403, code: 'NOT_HOST' });
  });
});

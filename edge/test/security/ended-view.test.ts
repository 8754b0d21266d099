import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, registerUser } from '../helpers.js';
import { connectFakeNode } from '../kits/fake-node.js';
import { joinMeeting, openRoomSocket } from '../kits/room-kit.js';

/**
 * Issue 13, point 8: once the host ends a meeting, its public view (GET /api/meetings/:link, what
 * the pre-join page shows) says "ended" at once — also when the view was cached while it was live.
 */
const FRANKFURT = { latitude: '50.1109', longitude: '8.6821' };
const cleanup: (() => void)[] = [];
afterEach(async () => {
  for (const done of cleanup.splice(0)) done();
  // Let the region log the node's departure before the test file's runtime goes away.
  await new Promise((resolve) => setTimeout(resolve, 300));
});
let host: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Host Ender');
});

async function liveMeeting() {
  const node = await connectFakeNode({ region: 'fra' });
  cleanup.push(() => node.retire());
  const created = await api('POST', '/api/meetings', { token: host.token, json: { title: 'Ends soon' } });
  const linkId: string = created.body.meeting.linkId;
  const joined = await joinMeeting(linkId, {}, { token: host.token, cf: FRANKFURT });
  expect(joined.status).toBe(200);
  const socket = await openRoomSocket(linkId, joined.body.roomSession);
  cleanup.push(() => socket.close());
  await socket.next('welcome');
  // A guest's pre-join page looks at it while it runs: the view is cached now.
  expect((await api('GET', `/api/meetings/${linkId}`)).body.meeting.status).not.toBe('ended');
  return { linkId, socket };
}

describe('public view of an ended meeting', () => {
  it('reads "ended" right after the host ends it through the API', async () => {
    const { linkId } = await liveMeeting();
    expect((await api('POST', `/api/meetings/${linkId}/end`, { token: host.token })).status).toBe(200);
    expect((await api('GET', `/api/meetings/${linkId}`)).body.meeting.status).toBe('ended');
  });

  // The public view comes from the RoomDO, so an end made in the room shows at once
  // (Postgres hears of it through the history queue, seconds later).
  it('reads "ended" right after the host ends it in the room (host.end on the room socket)', async () => {
    const { linkId, socket } = await liveMeeting();
    socket.send({ type: 'host.end' });
    await socket.whenClosed();
    expect((await api('GET', `/api/meetings/${linkId}`)).body.meeting.status).toBe('ended');
  });
});

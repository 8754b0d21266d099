import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../test/helpers.js';
import { connectFakeNode, type FakeNode } from '../test/kits/fake-node.js';
import { configureMeeting, joinMeeting } from '../test/kits/room-kit.js';

const TOKYO = { latitude: '35.6762', longitude: '139.6503' };

let host: Awaited<ReturnType<typeof registerUser>>;
let member: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Full Fiona');
  member = await registerUser('Member Mo');
});
const nodes: FakeNode[] = [];
afterEach(() => {
  for (const fake of nodes.splice(0)) fake.retire();
});

describe('a full meeting remembered at the edge', () => {
  it('refuses the next joiners, guests and signed-in alike, without asking the room; the host still gets in', async () => {
    nodes.push(await connectFakeNode({ region: 'tyo' }));
    const meeting = await configureMeeting(host.user.id, { maxParticipants: 2 });
    expect((await joinMeeting(meeting.linkId, {}, { cf: TOKYO, token: host.token })).status).toBe(200);
    expect((await joinMeeting(meeting.linkId, { displayName: 'One' }, { cf: TOKYO })).status).toBe(200);
    // The room says full (its message names the limit) …
    const fromRoom = await joinMeeting(meeting.linkId, { displayName: 'Two' }, { cf: TOKYO });
    expect(fromRoom.status).toBe(409);
    expect(fromRoom.body.error).toMatchObject({ code: 'MEETING_FULL', message: expect.stringContaining('2 participants') });
    // … then the edge does, for guests.
    const fromEdge = await joinMeeting(meeting.linkId, { displayName: 'Three' }, { cf: TOKYO });
    expect(fromEdge.status).toBe(409);
    expect(fromEdge.body.error).toMatchObject({ code: 'MEETING_FULL', message: expect.stringContaining('try again in a little while') });
    const signedIn = await joinMeeting(meeting.linkId, {}, { cf: TOKYO, token: member.token });
    expect(signedIn.status).toBe(409);
    expect(signedIn.body.error).toMatchObject({ code: 'MEETING_FULL', message: expect.stringContaining('try again in a little while') });
    // The host, whom a full meeting lets in (another tab), passes the edge and is seated by the room.
    expect((await joinMeeting(meeting.linkId, {}, { cf: TOKYO, token: host.token })).status).toBe(200);
  });

  it('remembers nothing for a meeting that was not full', async () => {
    nodes.push(await connectFakeNode({ region: 'tyo' }));
    const meeting = await configureMeeting(host.user.id, { maxParticipants: 3 });
    expect((await joinMeeting(meeting.linkId, {}, { cf: TOKYO, token: host.token })).status).toBe(200);
    for (const name of ['One', 'Two']) expect((await joinMeeting(meeting.linkId, { displayName: name }, { cf: TOKYO })).status).toBe(200);
  });
});

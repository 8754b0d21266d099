import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WS_CLOSE } from '../../schema/wire/index.js';
import { FakeEdge, nodeCredential } from './fake-edge.js';
import { TEST_NODE_ID, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';
import { SignalingClient } from './peers/signaling-client.js';

/*
 * Issue 13 point 14: when the edge closes a meeting on the node, the node refuses every media
 * token of that meeting issued before the close at once (not only when it expires, up to 120 s
 * later) — also when no room for it was open here. A token issued after the close (the meeting
 * moved back to this node) is good.
 */

const SECRET = 'meeting-end-credential-secret';

describe('a closed meeting refuses its tokens on the node', () => {
  let edge: FakeEdge;
  let node: TestNode;
  beforeAll(async () => {
    edge = await FakeEdge.start({ credential: nodeCredential(SECRET, TEST_NODE_ID) });
    node = await startTestNode({ EDGE_URL: edge.url, NODE_CREDENTIAL: nodeCredential(SECRET, TEST_NODE_ID) });
    await edge.waitFor(() => edge.hellos().length === 1, 15_000, 'hello');
  });
  afterAll(async () => {
    await node?.stop();
    await edge?.stop();
  });

  const connect = async (token: string) => SignalingClient.connect(`${node.url}/ws?token=${encodeURIComponent(token)}`);
  async function refusal(client: SignalingClient) {
    const closed = await client.closed;
    return { closeCode: closed.code, notified: client.all('closed')[0]?.code };
  }

  it('a token handed out before the end is refused at once, by query and by authenticate', async () => {
    const meetingId = newMeetingId();
    const present = await connect(await node.token(meetingId, newParticipantId('host')));
    await present.request('getRouterRtpCapabilities', {});
    // Handed out while the meeting ran, not used yet, good for two more minutes.
    const lateId = newParticipantId('late');
    const lateToken = await node.token(meetingId, lateId);

    expect(await edge.command({ command: 'closeMeeting', meetingId, reason: 'ended by host' })).toMatchObject({ ok: true });
    expect(await refusal(present)).toEqual({ closeCode: WS_CLOSE.MEETING_ENDED, notified: 'MEETING_ENDED' });

    expect(await refusal(await connect(lateToken))).toEqual({ closeCode: WS_CLOSE.MEETING_ENDED, notified: 'MEETING_ENDED' });
    const byMessage = await SignalingClient.connect(`${node.url}/ws`);
    const answer = await byMessage.requestRaw({ method: 'authenticate', data: { token: lateToken } });
    expect(answer).toMatchObject({ code: 'MEETING_ENDED' });
    expect(await refusal(byMessage)).toEqual({ closeCode: WS_CLOSE.MEETING_ENDED, notified: 'MEETING_ENDED' });
    // The refusals opened no room for the ended meeting.
    expect(node.node.rooms.rooms.has(meetingId)).toBe(false);
  });

  it('also when no room for the meeting is open on the node; a token issued after the close is good', async () => {
    const meetingId = newMeetingId();
    const participantId = newParticipantId('early');
    const early = await node.token(meetingId, participantId, { secondsOnly: true });
    // Nobody is connected: the node says so, and still refuses the meeting's earlier tokens.
    expect(await edge.command({ command: 'closeMeeting', meetingId, reason: 'moved away' })).toMatchObject({ ok: false, error: { code: 'MEETING_NOT_FOUND' } });
    expect(await refusal(await connect(early))).toEqual({ closeCode: WS_CLOSE.MEETING_ENDED, notified: 'MEETING_ENDED' });
    expect(node.node.rooms.rooms.has(meetingId)).toBe(false);

    // A close without the edge's time is read on the node's clock against whole seconds (iat), with a second of skew.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const moved = await connect(await node.token(meetingId, participantId, { secondsOnly: true }));
    expect(await moved.request('getRouterRtpCapabilities', {})).toHaveProperty('rtpCapabilities');
    expect(node.node.rooms.rooms.get(meetingId)?.participants.has(participantId)).toBe(true);
    moved.close();
  });

  it("compares the edge's close time with the token's in milliseconds: a meeting moved back right after its close takes its new tokens", async () => {
    const meetingId = newMeetingId();
    const participantId = newParticipantId('back');
    const before = await node.token(meetingId, participantId);
    const closedAt = Date.now();
    expect(await edge.command({ command: 'closeMeeting', meetingId, reason: 'moved away', why: 'moved', closedAt })).toMatchObject({ ok: false, error: { code: 'MEETING_NOT_FOUND' } });
    expect(await refusal(await connect(before))).toEqual({ closeCode: WS_CLOSE.MEETING_MOVED, notified: 'MEETING_MOVED' });
    // Placed back here at once (the failover drill saw it 0.85 s after the close): the room's next
    // token is issued after the close, beyond the edge clocks' skew, and is good.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const back = await connect(await node.token(meetingId, participantId));
    expect(await back.request('getRouterRtpCapabilities', {})).toHaveProperty('rtpCapabilities');
    expect(node.node.rooms.rooms.get(meetingId)?.participants.has(participantId)).toBe(true);
    back.close();
  });

  it('a meeting that moved to another node closes here with MEETING_MOVED, and its earlier tokens are refused the same way', async () => {
    const meetingId = newMeetingId();
    const present = await connect(await node.token(meetingId, newParticipantId('host')));
    await present.request('getRouterRtpCapabilities', {});
    const lateToken = await node.token(meetingId, newParticipantId('late'));

    expect(await edge.command({ command: 'closeMeeting', meetingId, reason: 'the meeting moved to another media node', why: 'moved' })).toMatchObject({ ok: true });
    // Not MEETING_ENDED: a browser ends the call on that; on this one it asks its room for the new node.
    expect(await refusal(present)).toEqual({ closeCode: WS_CLOSE.MEETING_MOVED, notified: 'MEETING_MOVED' });
    const byMessage = await SignalingClient.connect(`${node.url}/ws`);
    expect(await byMessage.requestRaw({ method: 'authenticate', data: { token: lateToken } })).toMatchObject({ code: 'MEETING_MOVED' });
    expect(await refusal(byMessage)).toEqual({ closeCode: WS_CLOSE.MEETING_MOVED, notified: 'MEETING_MOVED' });
  });
});

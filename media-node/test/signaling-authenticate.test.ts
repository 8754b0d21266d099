import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaAuthenticateAnswerSchema, WS_CLOSE } from '../../schema/wire/index.js';
import { newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';
import { SignalingClient, SignalingError } from './peers/signaling-client.js';
import { PEER_RTP_CAPABILITIES } from './peers/werift-peer.js';

/*
 * Issue 13 point 16: no secret in a URL. A signaling socket opened at plain /ws authenticates
 * with its first frame, `authenticate { token }`; nothing else is served before it.
 */

describe('signaling: the media token in the first message', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node?.stop();
  });

  const open = () => SignalingClient.open(`${node.url}/ws`);
  async function refusal(client: SignalingClient) {
    const closed = await client.closed;
    return { closeCode: closed.code, notified: client.all('closed')[0]?.code };
  }

  it('authenticate seats the participant; requests sent right behind it are served after its answer', async () => {
    const meetingId = newMeetingId();
    const participantId = newParticipantId('auth');
    const client = await open();
    const token = await node.token(meetingId, participantId);
    const order: string[] = [];
    const authenticated = client.requestRaw({ method: 'authenticate', data: { token, meeting: meetingId } }).then((answer) => {
      order.push('authenticate');
      return answer;
    });
    const capabilities = client.request('getRouterRtpCapabilities', {}).then((answer) => {
      order.push('getRouterRtpCapabilities');
      return answer;
    });
    expect(await authenticated).toEqual({ ok: true, data: { participantId } });
    expect(mediaAuthenticateAnswerSchema.parse((await authenticated as { data: unknown }).data)).toEqual({ participantId });
    expect(await capabilities).toHaveProperty('rtpCapabilities');
    expect(order).toEqual(['authenticate', 'getRouterRtpCapabilities']);
    await client.request('join', { rtpCapabilities: PEER_RTP_CAPABILITIES });
    expect(node.node.rooms.rooms.get(meetingId)?.participants.has(participantId)).toBe(true);

    // Once is enough: a second authenticate is answered, and the session goes on.
    const again = await client.requestRaw({ method: 'authenticate', data: { token } });
    expect(again).toBeInstanceOf(SignalingError);
    expect((again as SignalingError).code).toBe('CONFLICT');
    expect(await client.request('getRouterRtpCapabilities', {})).toHaveProperty('rtpCapabilities');
    client.close();
  });

  it('refuses a bad token, another meeting and a first frame that is not authenticate, with stable codes', async () => {
    const meetingId = newMeetingId();
    const participantId = newParticipantId();

    const badToken = await open();
    expect(await badToken.requestRaw({ method: 'authenticate', data: { token: 'not-a-jwt' } })).toMatchObject({ code: 'TOKEN_INVALID' });
    expect(await refusal(badToken)).toEqual({ closeCode: WS_CLOSE.TOKEN_INVALID, notified: 'TOKEN_INVALID' });

    const expired = await open();
    expect(await expired.requestRaw({ method: 'authenticate', data: { token: await node.token(meetingId, participantId, { expiresIn: -30 }) } })).toMatchObject({
      code: 'TOKEN_EXPIRED',
    });
    expect(await refusal(expired)).toEqual({ closeCode: WS_CLOSE.TOKEN_EXPIRED, notified: 'TOKEN_EXPIRED' });

    const otherMeeting = await open();
    const valid = await node.token(meetingId, participantId);
    expect(await otherMeeting.requestRaw({ method: 'authenticate', data: { token: valid, meeting: newMeetingId() } })).toMatchObject({ code: 'TOKEN_INVALID' });
    expect(await refusal(otherMeeting)).toEqual({ closeCode: WS_CLOSE.TOKEN_INVALID, notified: 'TOKEN_INVALID' });

    // Requests before authenticating are not served: the session ends.
    const eager = await open();
    expect(await eager.requestRaw({ method: 'getRouterRtpCapabilities', data: {} })).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await refusal(eager)).toEqual({ closeCode: WS_CLOSE.TOKEN_INVALID, notified: 'UNAUTHENTICATED' });

    const garbage = await open();
    garbage.sendRaw('{"token":');
    expect(await refusal(garbage)).toEqual({ closeCode: WS_CLOSE.TOKEN_INVALID, notified: 'UNAUTHENTICATED' });

    expect(node.node.rooms.rooms.has(meetingId)).toBe(false);
  });
});

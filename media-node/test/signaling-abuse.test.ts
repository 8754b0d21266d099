import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { mediaResponseSchema } from '../../schema/wire/index.js';
import { OFFER_BURST } from '../rooms/participant.js';
import { eventually, newMeetingId, newParticipantId, startTestNode, type TestNode } from './harness.js';
import { SignalingClient, SignalingError } from './peers/signaling-client.js';
import { publishSilently } from './peers/signaling-only-publisher.js';
import { PEER_RTP_CAPABILITIES } from './peers/werift-peer.js';

/* Issue 13 points 6 and 8 (node side): signaling requests are throttled per participant; errors echo nothing. */

describe('signaling abuse: default limits', () => {
  let node: TestNode;
  const connect = async (meetingId: string, participantId = newParticipantId()) =>
    SignalingClient.authenticate(node.url, await node.token(meetingId, participantId));

  beforeAll(async () => {
    node = await startTestNode({ NUM_WORKERS: '1' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('a flood of 3,000 requests is answered RATE_LIMITED, each with its id; another participant is served meanwhile', { timeout: 60_000 }, async () => {
    const meetingId = newMeetingId();
    // The flooder is a bare socket: the node and this test share one process, and a full client
    // parsing 3,000 answers would slow both down.
    const flooder = new WebSocket(`${node.url}/ws`);
    const received: string[] = [];
    flooder.on('message', (data) => received.push(String(data)));
    await new Promise((resolve, reject) => flooder.once('open', resolve).once('error', reject));
    flooder.send(JSON.stringify({ id: 0, method: 'authenticate', data: { token: await node.token(meetingId, newParticipantId('flood')) } }));
    await eventually(() => received.length > 0, 10_000, 'the authenticate answer');
    expect(mediaResponseSchema.parse(JSON.parse(received.shift() ?? ''))).toMatchObject({ id: 0, ok: true });
    const other = await connect(meetingId);
    await other.request('getRouterRtpCapabilities', {});

    const started = Date.now();
    for (let id = 1_000; id < 4_000; id++) flooder.send(JSON.stringify({ id, method: 'getRouterRtpCapabilities', data: {} }));
    const pingStarted = Date.now();
    await other.request('getRouterRtpCapabilities', {});
    const pingMs = Date.now() - pingStarted;
    await eventually(() => received.length >= 3_000, 30_000, 'every flooded request answered');
    const elapsedS = (Date.now() - started) / 1000;

    const answers = received.map((text) => mediaResponseSchema.parse(JSON.parse(text)));
    expect(new Set(answers.map((answer) => answer.id))).toEqual(new Set(Array.from({ length: 3_000 }, (_, index) => 1_000 + index)));
    const accepted = answers.filter((answer) => answer.ok).length;
    const limited = answers.filter((answer) => !answer.ok && answer.error.code === 'RATE_LIMITED').length;
    console.log(
      `flood: ${accepted} accepted, ${limited} RATE_LIMITED in ${elapsedS.toFixed(2)} s; another participant's request meanwhile took ${pingMs} ms`,
    );
    expect(accepted + limited).toBe(3_000);
    // The burst plus 20 per second of the flood, give or take one.
    expect(accepted).toBeLessThanOrEqual(50 + Math.ceil(elapsedS * 20) + 1);
    expect(limited).toBeGreaterThan(2_500);
    // Node and test share one process on a shared machine, so only a loose bound: a rejected
    // request costs a parse and an answer, never a mediasoup call or a place in the queue.
    expect(pingMs).toBeLessThan(5_000);
    // The throttled participant is still connected and served once it slows down.
    await new Promise((resolve) => setTimeout(resolve, 200));
    received.length = 0;
    flooder.send(JSON.stringify({ id: 1, method: 'getRouterRtpCapabilities', data: {} }));
    await eventually(() => received.length === 1, 5_000, 'an answer after slowing down');
    expect(mediaResponseSchema.parse(JSON.parse(received[0]!))).toMatchObject({ id: 1, ok: true });
    flooder.close();
    other.close();
  });

  it('joining a meeting with 60 consumers (over the burst of 50) is not throttled: each offered consumer resumes', { timeout: 120_000 }, async () => {
    const meetingId = newMeetingId();
    const publishers: SignalingClient[] = [];
    for (let index = 0; index < 30; index++) {
      const publisher = await connect(meetingId, newParticipantId(`pub${index}`));
      await publishSilently(publisher);
      publishers.push(publisher);
    }
    const joiner = await connect(meetingId);
    const resumes: Promise<unknown>[] = [];
    let seen = 0;
    joiner.socket.on('message', () => {
      for (const consumer of joiner.all('newConsumer').slice(seen)) resumes.push(joiner.request('resumeConsumer', { consumerId: consumer.consumerId }));
      seen = joiner.all('newConsumer').length;
    });
    await joiner.request('getRouterRtpCapabilities', {});
    await joiner.request('createTransport', { direction: 'recv' });
    await joiner.request('join', { rtpCapabilities: PEER_RTP_CAPABILITIES });
    await joiner.waitFor(() => joiner.all('newConsumer').length === 60, 20_000, '60 consumers offered');
    // Offered in bursts (the page negotiates each in one round), none larger than OFFER_BURST.
    const bursts: number[] = [];
    let inBurst = 0;
    for (const offer of joiner.all('newConsumer')) {
      inBurst++;
      if (offer.more) continue;
      bursts.push(inBurst);
      inBurst = 0;
    }
    expect(bursts[0]).toBe(OFFER_BURST);
    expect(Math.max(...bursts)).toBe(OFFER_BURST);
    const results = await Promise.allSettled(resumes);
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    // Requests beyond the offer are metered again: the bucket still holds what the join left.
    await expect(joiner.request('getRouterRtpCapabilities', {})).resolves.toBeDefined();
    for (const client of [joiner, ...publishers]) client.close();
  });

  it('an unknown method or a bad field is answered without echoing anything the client sent', async () => {
    const client = await connect(newMeetingId());
    const hostile = '\u202e<img src=x onerror=alert(1)>\u200b';
    const unknown = await client.requestRaw({ method: hostile, data: {} });
    expect(unknown).toBeInstanceOf(SignalingError);
    expect(unknown).toMatchObject({ code: 'UNKNOWN_MESSAGE', message: 'UNKNOWN_MESSAGE: unknown method' });
    const invalid = await client.requestRaw({ method: 'createTransport', data: { direction: hostile, [hostile]: hostile } });
    expect(invalid).toMatchObject({ code: 'VALIDATION_FAILED' });
    for (const answer of [unknown, invalid]) {
      const text = (answer as SignalingError).message;
      for (const piece of ['\u202e', '<img', 'onerror', '\u200b']) expect(text).not.toContain(piece);
    }
    client.close();
  });
});

describe('signaling abuse: limits per participant survive a reconnect', () => {
  let node: TestNode;
  const connect = async (meetingId: string, participantId: string) =>
    SignalingClient.authenticate(node.url, await node.token(meetingId, participantId));
  const burstOf = async (client: SignalingClient, count: number) => {
    const results = await Promise.allSettled(Array.from({ length: count }, () => client.request('getRouterRtpCapabilities', {})));
    return results.map((result) => (result.status === 'fulfilled' ? 'ok' : (result.reason as SignalingError).code));
  };

  beforeAll(async () => {
    node = await startTestNode({ NUM_WORKERS: '1', SIGNALING_REQUEST_BURST: '10', SIGNALING_REQUESTS_PER_SECOND: '2' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('a reconnect does not refill the bucket; other participants keep theirs; it refills with time', { timeout: 60_000 }, async () => {
    const meetingId = newMeetingId();
    const greedyId = newParticipantId('greedy');
    const greedy = await connect(meetingId, greedyId);
    const first = await burstOf(greedy, 20);
    expect(first.filter((code) => code === 'ok').length).toBeLessThanOrEqual(11);
    expect(first.filter((code) => code === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(9);

    greedy.close();
    await greedy.closed;
    const again = await connect(meetingId, greedyId);
    const afterReconnect = await burstOf(again, 5);
    expect(afterReconnect.filter((code) => code === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(3);

    const polite = await connect(meetingId, newParticipantId('polite'));
    expect(await burstOf(polite, 10)).toEqual(Array(10).fill('ok'));

    await new Promise((resolve) => setTimeout(resolve, 1_600));
    expect((await burstOf(again, 2)).filter((code) => code === 'ok').length).toBeGreaterThanOrEqual(2);
    for (const client of [again, polite]) client.close();
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { SignalingClient } from './peers/signaling-client.js';
import { TestTokenIssuer, newMeetingId, newParticipantId } from './peers/tokens.js';
import { spawnMediaNode } from './spawn-node.js';
import { eventually, startTestNode, type TestNode } from './harness.js';

const NODE_ID = 'media-signal-1';

describe('signals on the real process', () => {
  it('SIGTERM drains (503, meeting kept); a second SIGTERM exits at once; an idle node exits 0 on SIGTERM', async () => {
    const issuer = await TestTokenIssuer.create();
    const env = { NODE_ID, MEDIA_TOKEN_PUBLIC_JWK: issuer.publicJwk, LISTEN_PORT: '0', RTC_MIN_PORT: '0', NUM_WORKERS: '1', LOG_LEVEL: 'info' };

    const busy = spawnMediaNode(env);
    try {
      await eventually(() => busy.port() > 0, 60_000, 'node serving');
      const base = `127.0.0.1:${busy.port()}`;
      expect((await fetch(`http://${base}/health`)).status).toBe(200);
      const client = await SignalingClient.connect(`ws://${base}/ws?token=${await issuer.sign({ nodeId: NODE_ID, meetingId: newMeetingId(), participantId: newParticipantId() })}`);
      await client.request('getRouterRtpCapabilities', {});

      busy.child.kill('SIGTERM');
      await eventually(async () => (await fetch(`http://${base}/health`)).status === 503, 10_000, 'draining health');
      // The current meeting keeps running.
      await client.request('createTransport', { direction: 'recv' });
      expect(busy.child.exitCode).toBeNull();

      busy.child.kill('SIGTERM');
      const code = await busy.waitExit(10_000);
      expect(code).not.toBe('timeout');
      expect(code).not.toBe(0);
    } finally {
      busy.kill();
    }

    const idle = spawnMediaNode(env);
    try {
      await eventually(() => idle.port() > 0, 60_000, 'node serving');
      idle.child.kill('SIGTERM');
      expect(await idle.waitExit(10_000)).toBe(0);
    } finally {
      idle.kill();
    }
  });
});

describe('a drain with a far deadline (the operator\'s, any date)', () => {
  let node: TestNode | undefined;
  afterAll(async () => {
    await node?.stop();
  });

  it('keeps current meetings when the deadline is 30 days away (past what one timer holds)', async () => {
    node = await startTestNode({ NUM_WORKERS: '1' });
    const meetingId = newMeetingId();
    const client = await SignalingClient.authenticate(node.url, await node.token(meetingId, newParticipantId('stay')));
    await client.request('createTransport', { direction: 'recv' });
    expect(node.node.rooms.rooms.has(meetingId)).toBe(true);

    node.node.drain(Date.now() + 30 * 24 * 3600 * 1000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const observed = { state: node.node.state, roomOpen: node.node.rooms.rooms.has(meetingId), exits: [...node.exits], clientClosed: client.socket.readyState !== client.socket.OPEN };
    client.close();
    expect(observed).toEqual({ state: 'draining', roomOpen: true, exits: [], clientClosed: false });
  });
});

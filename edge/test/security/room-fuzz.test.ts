import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Findings, judgeRoomMessage, leaks } from '../../../scripts/fuzz/findings.js';
import { RoomFuzzer, type FuzzSocket, type RoomTarget } from '../../../scripts/fuzz/room-fuzz.js';
import { roomSocketProtocols } from '../../../schema/wire/http.js';
import { edgeConfig } from '../../config.js';
import type { RoomDO } from '../../room/room-do.js';
import { connectFakeNode, type FakeNode } from '../kits/fake-node.js';
import { roomStub } from '../kits/room-kit.js';

/**
 * The room socket fuzzer (scripts/fuzz, `npm run fuzz`) run small inside the suite: a clean room
 * yields no findings, and a harness that cannot fail is a defect — so an unauthorized change
 * slipped in behind its back must be caught, as must an internal error and a leaky message.
 */
let node: FakeNode;
let heartbeat: ReturnType<typeof setInterval>;
beforeAll(async () => {
  // This file's meetings live in New York; no other security test places media there.
  node = await connectFakeNode({ region: 'nyc' });
  heartbeat = setInterval(() => node.heartbeat(), 500);
});
afterAll(() => {
  clearInterval(heartbeat);
  node.retire();
});

function wrap(ws: WebSocket): FuzzSocket {
  const received: unknown[] = [];
  let closeCode: number | null = null;
  ws.addEventListener('message', (event) => {
    const text = typeof event.data === 'string' ? event.data : '';
    try {
      received.push(JSON.parse(text));
    } catch {
      received.push(text);
    }
  });
  ws.addEventListener('close', (event) => (closeCode = event.code));
  return {
    send: (data) => {
      try {
        ws.send(data);
      } catch {
        // closed under us: the harness sees the close code
      }
    },
    received,
    closeCode: () => closeCode,
    close: () => {
      try {
        ws.close(1000, 'bye');
      } catch {
        // already closed
      }
    },
  };
}

const target: RoomTarget = {
  configure: (settings) => roomStub(settings.linkId).configure(settings),
  join: async (linkId, input) => {
    const result = await roomStub(linkId).join(input);
    if (!result.ok) throw new Error(`join refused: ${result.code} ${result.message}`);
    return result.value;
  },
  connect: async (linkId, session) => {
    const response = await SELF.fetch(`http://edgemeet.test/api/meetings/${linkId}/ws`, {
      headers: { Upgrade: 'websocket', 'Sec-WebSocket-Protocol': roomSocketProtocols(session).join(', ') },
    });
    if (!response.webSocket) throw new Error(`room socket refused: ${response.status}`);
    response.webSocket.accept();
    return wrap(response.webSocket);
  },
  alive: async () => (await SELF.fetch('http://edgemeet.test/api/meetings/bad/join', { method: 'POST', body: '{}' })).status === 400,
  secrets: [edgeConfig(env).nodeCredentialSecret, edgeConfig(env).adminToken ?? ''].filter((secret) => secret.length > 0),
  regions: ['nyc'],
};

const small = { messages: 300, seed: 1313, perSender: 20, guests: 2, waiting: 1, endEvery: 2 };

describe('the room fuzzer', () => {
  it('finds nothing wrong in a few hundred hostile messages from every standing', async () => {
    const findings = await new RoomFuzzer(target, small).run();
    expect(findings.counters.messages).toBeGreaterThanOrEqual(300);
    expect(findings.examples).toEqual({ crashes: [], unauthorizedChanges: [], serverErrors: [], leakedInternals: [] });
  });

  it('catches a change no sender was allowed to make', async () => {
    let injected = false;
    const findings = await new RoomFuzzer(target, {
      ...small,
      messages: 50,
      afterBatch: async (fixture, kind) => {
        if (kind !== 'unprivileged' || injected) return;
        injected = true;
        // Behind the harness's back: the meeting locked and a bystander promoted during a guests' batch.
        await runInDurableObject(roomStub(fixture.linkId), (instance: RoomDO) => {
          instance.room.meeting.setLocked(true, Date.now());
          instance.room.participants.setRole(fixture.bystander.participantId, 'cohost');
        });
      },
    }).run();
    expect(injected).toBe(true);
    expect(findings.counters.unauthorizedChanges).toBeGreaterThanOrEqual(2);
    expect(findings.examples.unauthorizedChanges.join('\n')).toMatch(/changed the lock/);
    expect(findings.examples.unauthorizedChanges.join('\n')).toMatch(/changed the role/);
  });

  it('counts internal errors and answers that leak internals or echo the sender', () => {
    const findings = new Findings();
    judgeRoomMessage({ type: 'error', code: 'INTERNAL', message: 'something went wrong; try again' }, findings, 'test', []);
    judgeRoomMessage({ type: 'error', code: 'VALIDATION_FAILED', message: 'TypeError: x is not a function at handle (room-do.ts:12)' }, findings, 'test', []);
    judgeRoomMessage({ type: 'closed', code: 'FORBIDDEN', reason: 'unknown method fz9q<script>' }, findings, 'test', []);
    judgeRoomMessage({ type: 'error', code: 'VALIDATION_FAILED', message: 'participantId: not a participant id' }, findings, 'test', ['s3cr3t-value']);
    expect(findings.counters).toMatchObject({ serverErrors: 1, leakedInternals: 2 });
    expect(leaks('token s3cr3t-value here', ['s3cr3t-value'])).toBe('contains a secret');
  });
});

import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createLog } from '../log.js';
import { Metrics } from '../metrics.js';
import type { Participant } from '../rooms/participant.js';
import type { Room } from '../rooms/room.js';
import { SignalingSession } from '../signaling/session.js';
import { TokenBucket } from '../signaling/request-throttle.js';

/**
 * A session's requests run in arrival order, but those about consumers (resume, pause, layers) in
 * a queue of their own: a joiner resumes the consumers it was just offered while its own produce
 * requests are still being handled, and that resume must not wait for them. The seam: a session
 * on a socket stand-in, with a participant whose transport work is held until the test lets go.
 */

class SocketStandIn extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  readonly answers: Array<{ id: number; ok: boolean }> = [];
  send(text: string): void {
    const frame = JSON.parse(text) as { id?: number; ok?: boolean };
    if (typeof frame.id === 'number') this.answers.push({ id: frame.id, ok: frame.ok === true });
  }
  close(): void {
    this.readyState = 3;
  }
  frame(request: object): void {
    this.emit('message', Buffer.from(JSON.stringify(request)), false);
  }
}

function heldWork() {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  return { held, release };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

function sessionWith(participant: Partial<Participant>) {
  const socket = new SocketStandIn();
  const session = new SignalingSession(socket as never, new Metrics(), createLog('silent', 'test-node'), 10);
  session.attach({} as Room, { id: 'p-1', log: createLog('silent', 'test-node'), ...participant } as Participant, new TokenBucket({ burst: 100, perSecond: 100 }), 0);
  socket.answers.length = 0; // the attach's own answer
  return socket;
}

describe('a session’s request queues', () => {
  it('a consumer’s resume is answered while a transport request is still being handled', async () => {
    const stats = heldWork();
    const paused: boolean[] = [];
    const socket = sessionWith({
      transport: () => ({ closed: false, getStats: async () => (await stats.held, []) }) as never,
      consumer: () => ({ id: 'c-1', closed: false }) as never,
      setConsumerPaused: async (_id: string, isPaused: boolean) => void paused.push(isPaused),
    });
    socket.frame({ id: 1, method: 'getTransportStats', data: { transportId: 't-1' } });
    socket.frame({ id: 2, method: 'resumeConsumer', data: { consumerId: 'c-1' } });
    socket.frame({ id: 3, method: 'pauseConsumer', data: { consumerId: 'c-1' } });
    await settle();
    expect(socket.answers).toEqual([{ id: 2, ok: true }, { id: 3, ok: true }]);
    expect(paused).toEqual([false, true]);
    stats.release();
    await settle();
    expect(socket.answers.map((answer) => answer.id)).toEqual([2, 3, 1]);
  });

  it('consumer requests keep their order among themselves', async () => {
    const first = heldWork();
    const paused: boolean[] = [];
    const socket = sessionWith({
      consumer: () => ({ id: 'c-1', closed: false }) as never,
      setConsumerPaused: async (_id: string, isPaused: boolean) => {
        if (paused.length === 0) await first.held;
        paused.push(isPaused);
      },
    });
    socket.frame({ id: 1, method: 'resumeConsumer', data: { consumerId: 'c-1' } });
    socket.frame({ id: 2, method: 'pauseConsumer', data: { consumerId: 'c-1' } });
    await settle();
    expect(socket.answers).toEqual([]);
    first.release();
    await settle();
    expect(socket.answers.map((answer) => answer.id)).toEqual([1, 2]);
    expect(paused).toEqual([false, true]);
  });
});

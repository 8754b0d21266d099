import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

export interface UdpEndpoint {
  ip: string;
  port: number;
}

export interface DelayedHop {
  /** Where `a` should send to reach `b` (and hear from it). */
  forA: UdpEndpoint;
  /** Where `b` should send to reach `a` (and hear from it). */
  forB: UdpEndpoint;
  close(): Promise<void>;
}

/**
 * A UDP relay between two loopback endpoints that holds every datagram from `a` to `b` for
 * `delayMs` (b → a passes at once): a known cost put on one direction of a hop, so that a
 * benchmark's own test can check the figure it reports. Each side sees the relay as its peer,
 * which is what a connected mediasoup PipeTransport (fixed remote tuple) accepts.
 */
export async function startDelayedHop(a: UdpEndpoint, b: UdpEndpoint, delayMs: number): Promise<DelayedHop> {
  const bind = async (): Promise<Socket> => {
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    return socket;
  };
  const facingA = await bind();
  const facingB = await bind();
  const timers = new Set<NodeJS.Timeout>();
  facingA.on('message', (datagram) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      facingB.send(datagram, b.port, b.ip);
    }, delayMs);
    timers.add(timer);
  });
  facingB.on('message', (datagram) => facingA.send(datagram, a.port, a.ip));
  return {
    forA: { ip: '127.0.0.1', port: facingA.address().port },
    forB: { ip: '127.0.0.1', port: facingB.address().port },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      await Promise.all([facingA, facingB].map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    },
  };
}

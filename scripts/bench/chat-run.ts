/**
 * Chat fan-out measurement over room sockets: every socket sends `chat.send` at a paced share of
 * the offered rate (stamped with its send time), every socket counts each `chat.message` it gets
 * and its delay. Works against the RoomDO and against the floor DO (chat-floor.ts) alike.
 */
import WebSocket from 'ws';
import { percentile, sleep } from './stats.js';

export interface ChatStep {
  /** Messages per second offered, all senders together (each sends rate ÷ sockets per second). */
  messagesPerSec: number;
  seconds: number;
}

export interface ChatStepOutcome {
  messagesPerSec: number;
  sent: number;
  deliveries: number;
  /** Deliveries ÷ (last delivery − first send). */
  deliveriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Frames the room answered with an error (e.g. a sender over its chat limit). */
  errors: number;
}

const STAMP = /"text":"t([0-9.]+)"/;

export interface ChatSockets {
  sockets: WebSocket[];
  run(step: ChatStep): Promise<ChatStepOutcome>;
  close(): Promise<void>;
}

/** Opens the sockets (a few at a time) and waits until each has heard from the room. */
/** Where a socket connects: the URL, and the subprotocols that carry its room session (none for the floor). */
export interface SocketTarget {
  url: string;
  protocols?: string[];
}

export async function openChatSockets(targets: SocketTarget[], options: { compression: boolean }): Promise<ChatSockets> {
  const sockets: WebSocket[] = [];
  let latencies: number[] = [];
  let lastDelivery = 0;
  let errors = 0;
  const onMessage = (raw: WebSocket.RawData) => {
    const text = raw.toString();
    const stamp = STAMP.exec(text)?.[1];
    if (stamp !== undefined && text.includes('"chat.message"')) {
      lastDelivery = performance.now();
      latencies.push(lastDelivery - Number(stamp));
    } else if (text.startsWith('{"type":"error"')) errors++;
  };
  for (let i = 0; i < targets.length; i += 10) {
    const batch = targets.slice(i, i + 10).map(
      ({ url, protocols }) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, protocols ?? [], { perMessageDeflate: options.compression });
          ws.once('error', reject);
          // The first frame (the room's welcome) says the socket is in.
          ws.once('message', () => resolve(ws));
          ws.on('message', onMessage);
        }),
    );
    sockets.push(...(await Promise.all(batch)));
  }
  return {
    sockets,
    async run(step) {
      latencies = [];
      errors = 0;
      const tickMs = 10;
      const total = Math.round(step.messagesPerSec * step.seconds);
      const started = performance.now();
      let sent = 0;
      // Paced by the clock, round robin over the senders: each sends rate ÷ sockets per second.
      while (sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * step.messagesPerSec) + 1);
        for (; sent < due; sent++) {
          const ws = sockets[sent % sockets.length]!;
          ws.send(`{"type":"chat.send","text":"t${performance.now().toFixed(3)}"}`);
        }
        await sleep(tickMs);
      }
      const expected = sent * sockets.length;
      // Until everything arrived or nothing has come for 3 s.
      for (let quiet = 0; latencies.length < expected && quiet < 3000; ) {
        const before = latencies.length;
        await sleep(100);
        quiet = latencies.length === before ? quiet + 100 : 0;
      }
      const sorted = [...latencies].sort((a, b) => a - b);
      return {
        messagesPerSec: step.messagesPerSec,
        sent,
        deliveries: sorted.length,
        deliveriesPerSec: sorted.length / ((lastDelivery - started) / 1000),
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        errors,
      };
    },
    async close() {
      for (const ws of sockets) ws.close();
      await sleep(200);
      for (const ws of sockets) ws.terminate();
    },
  };
}

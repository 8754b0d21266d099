/**
 * One fan-out measurement against a target (the media node, or the bare worker): rooms of
 * simulcast publishers and receiving werift peers, then a window in which the forwarding
 * worker's CPU and every consumer's packets are counted.
 *   consumers per core = live consumers ÷ the worker's CPU share (cores) they add: the share with
 *   everything flowing minus the share with the publishers alone (measured first);
 *   loss = 1 − packets received ÷ packets the consumed layers sent (one packet per frame and layer).
 */
import { WeriftPeer } from '../../media-node/test/peers/werift-peer.js';
import { publishSimulcast, type SimulcastPublisher } from './simulcast-publisher.js';
import { cpuShare } from './proc.js';
import { sleep } from './stats.js';

export interface FanoutTarget {
  name: string;
  /** Signaling base URL and a token for one participant of a room (WeriftPeer appends /ws?token=). */
  join(room: string, participant: string): Promise<{ url: string; token: string }>;
  workerPid: number;
}

export interface FanoutSize {
  rooms: number;
  publishers: number;
  subscribers: number;
  seconds: number;
  /** Known loss injected at the publishers (0 in real runs). */
  dropFraction?: number;
}

export interface FanoutOutcome {
  consumers: number;
  /** The worker's CPU share (cores) with everything flowing, and with the publishers alone. */
  workerCores: number;
  ingestCores: number;
  /** consumers ÷ (workerCores − ingestCores): what each consumer costs the worker. */
  consumersPerCore: number;
  lossPct: number;
}

const JOIN_BATCH = 4;

const receivedTotal = (peers: WeriftPeer[]) => peers.reduce((sum, peer) => sum + [...peer.received.values()].reduce((s, t) => s + t.packets, 0), 0);

async function until(what: () => string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`fan-out: timed out waiting for ${what()}`);
    await sleep(200);
  }
}

export async function runFanout(target: FanoutTarget, size: FanoutSize): Promise<FanoutOutcome> {
  const rooms: { name: string; subscribers: WeriftPeer[]; publishers: SimulcastPublisher[] }[] = [];
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  try {
    // Publishers first: their ingest alone is measured, so that what is compared is the cost of
    // consumers (at this box's small scale the ingest would otherwise dominate the figure).
    for (let r = 0; r < size.rooms; r++) {
      const room = `fanout${run}r${r}`.padEnd(22, '0').slice(0, 22);
      const publishers: SimulcastPublisher[] = [];
      for (let p = 0; p < size.publishers; p++) {
        const { url, token } = await target.join(room, `pub-${run}-${r}-${p}`);
        publishers.push(await publishSimulcast(`${url}/ws?token=${encodeURIComponent(token)}`, { dropFraction: size.dropFraction ?? 0 }));
      }
      rooms.push({ name: room, subscribers: [], publishers });
    }
    await sleep(2000);
    const ingest = await cpuShare(target.workerPid, () => sleep(size.seconds * 1000));
    for (const [r, room] of rooms.entries()) {
      // A few at a time: werift's DTLS handshakes are CPU work in this process.
      for (let s = 0; s < size.subscribers; s += JOIN_BATCH) {
        const batch = Array.from({ length: Math.min(JOIN_BATCH, size.subscribers - s) }, async (_, i) => {
          const { url, token } = await target.join(room.name, `sub-${run}-${r}-${s + i}`);
          room.subscribers.push(await WeriftPeer.join({ url, token, receive: true }));
        });
        await Promise.all(batch);
      }
    }
    const subscribers = rooms.flatMap((room) => room.subscribers);
    const expectedConsumers = size.rooms * size.publishers * size.subscribers;
    const flowing = () => subscribers.reduce((n, peer) => n + [...peer.received.values()].filter((t) => t.packets > 0).length, 0);
    const known = () => subscribers.reduce((n, peer) => n + peer.received.size, 0);
    await until(() => `${expectedConsumers} consumers receiving on ${target.name} (${flowing()} receiving of ${known()} offered)`, () => flowing() === expectedConsumers, 60_000 + expectedConsumers * 200);
    await sleep(3000); // past layer switching and the bandwidth estimate's start

    const framesBefore = rooms.map((room) => room.publishers.map((p) => p.framesSent));
    const receivedBefore = receivedTotal(subscribers);
    const { cores } = await cpuShare(target.workerPid, () => sleep(size.seconds * 1000));
    const received = receivedTotal(subscribers) - receivedBefore;
    // Every subscriber of a room receives one layer of each of its publishers: one packet per frame.
    const expected = rooms.reduce(
      (sum, room, r) => sum + room.subscribers.length * room.publishers.reduce((s, p, i) => s + p.framesSent - framesBefore[r]![i]!, 0),
      0,
    );
    const consumers = flowing();
    const consumerCores = Math.max(cores - ingest.cores, 1e-3);
    return { consumers, workerCores: cores, ingestCores: ingest.cores, consumersPerCore: consumers / consumerCores, lossPct: Math.max(0, (1 - received / expected) * 100) };
  } finally {
    for (const room of rooms) {
      await Promise.allSettled([...room.publishers.map((p) => p.close()), ...room.subscribers.map((s) => s.close())]);
    }
  }
}

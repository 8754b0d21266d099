/**
 * Media node RSS per participant: a real node process, participants (publishing audio + video,
 * receiving everyone) added in steps in rooms of `roomSize`; RSS of the node and its worker after
 * each step (after a warm-up room joined and left). The slope between steps is the cost of a
 * participant; the empty node is the base.
 */
import { newMeetingId } from '../../media-node/test/peers/tokens.js';
import type { WeriftPeer } from '../../media-node/test/peers/werift-peer.js';
import { startBenchNode, type BenchNode } from './spawned-node.js';
import { sleep } from './stats.js';

export interface RssStep {
  participants: number;
  rssBytes: number;
  /** The split of one read: the node's own process (V8 heap and all) and its mediasoup worker(s). */
  parts?: { node: number; workers: number };
}

export async function measureNodeRss(steps: number[], roomSize: number, settleMs = 3000, node?: BenchNode): Promise<RssStep[]> {
  const owned = node === undefined;
  const bench = node ?? (await startBenchNode());
  const peers: WeriftPeer[] = [];
  try {
    // Warm-up: one room joins and leaves first, so start-up garbage and first-use allocations
    // (code, pools) are behind us before the empty node is weighed.
    const warm = newMeetingId();
    const warmPeers: WeriftPeer[] = [];
    for (let i = 0; i < roomSize; i++) warmPeers.push(await bench.participant(warm, `memory-warm-${i}-${Date.now().toString(36)}`));
    await sleep(settleMs);
    await Promise.allSettled(warmPeers.map((peer) => peer.close()));
    await sleep(2 * settleMs);
    const out: RssStep[] = [{ participants: 0, rssBytes: await bench.rss(10), parts: await bench.rssParts() }];
    let meetingId = newMeetingId();
    for (const target of steps) {
      while (peers.length < target) {
        if (peers.length % roomSize === 0) meetingId = newMeetingId();
        peers.push(await bench.participant(meetingId, `memory-${peers.length}-${Date.now().toString(36)}`));
      }
      await sleep(settleMs); // consumers created, media flowing, buffers at their working size
      out.push({ participants: peers.length, rssBytes: await bench.rss(10), parts: await bench.rssParts() });
    }
    return out;
  } finally {
    await Promise.allSettled(peers.map((peer) => peer.close()));
    if (owned) await bench.stop();
  }
}

/** KB per participant between consecutive steps. */
export function rssSlopesKb(steps: RssStep[]): number[] {
  return steps.slice(1).map((step, i) => (step.rssBytes - steps[i]!.rssBytes) / 1024 / (step.participants - steps[i]!.participants));
}

/**
 * RoomDO storage per participant: one meeting in Miniflare, guests joined in steps, the RoomDO's
 * SQLite database weighed after each (pages × page size, through a subclass that adds only that
 * RPC: bench/edge.ts `weighRooms`). The growth per participant is the slope between steps
 * (SQLite grows in whole pages, so steps of tens).
 */
import { startBenchEdge } from './edge.js';
import { sleep } from './stats.js';

export interface StorageStep {
  participants: number;
  bytes: number;
}

export async function measureRoomStorage(steps: number[]): Promise<StorageStep[]> {
  const edge = await startBenchEdge({ weighRooms: true });
  try {
    const linkId = await edge.configure(Math.max(...steps) + 10);
    await edge.connectNode();
    const out: StorageStep[] = [{ participants: 0, bytes: await edge.roomStorageBytes(linkId) }];
    let joined = 0;
    for (const target of steps) {
      for (; joined < target; joined++) await edge.join(linkId, `Guest ${joined}`);
      await sleep(1000); // the history outbox drains to the queue; writes settle
      out.push({ participants: joined, bytes: await edge.roomStorageBytes(linkId) });
    }
    return out;
  } finally {
    await edge.close();
  }
}

/** Bytes per participant between consecutive steps. */
export function storageSlopes(steps: StorageStep[]): number[] {
  return steps.slice(1).map((step, i) => (step.bytes - steps[i]!.bytes) / (step.participants - steps[i]!.participants));
}

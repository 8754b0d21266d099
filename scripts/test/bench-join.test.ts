import { describe, expect, it } from 'vitest';
import { startBenchEdge } from '../bench/edge.js';
import { measureLoad } from '../bench/load.js';
import { roomSocketProtocols } from '../../schema/wire/index.js';

describe('bench:join harness', () => {
  it('reports an injected 25 ms service time, the rate it allows and the failures', async () => {
    const outcome = await measureLoad('delayed', 40, 4, async (i) => {
      await new Promise((resolve) => setTimeout(resolve, 25));
      if (i % 10 === 0) throw new Error('refused');
    });
    expect(outcome.failures).toBe(4);
    expect(outcome.p50Ms).toBeGreaterThanOrEqual(25);
    expect(outcome.p99Ms).toBeGreaterThanOrEqual(outcome.p50Ms);
    // 4 in flight, each at least 25 ms: at most 160 per second.
    expect(outcome.perSec).toBeLessThanOrEqual(160);
    expect(outcome.perSec).toBeGreaterThan(0);
  });

  it('joins guests through the Worker, RoomDO and RegionDO and places the meeting on the fake node', async () => {
    const edge = await startBenchEdge();
    try {
      const linkId = await edge.configure(10);
      await edge.connectNode();
      const first = await edge.join(linkId, 'First');
      const second = await edge.join(linkId, 'Second');
      expect(first.status).toBe('joined');
      expect(first.media?.signalingUrl).toBe('ws://127.0.0.1:4443');
      expect(second.participantId).not.toBe(first.participantId);
      const socket = edge.roomSocket(linkId, first);
      expect(socket.url).toMatch(new RegExp(`/api/meetings/${linkId}/ws$`));
      expect(socket.protocols).toEqual(roomSocketProtocols(first.roomSession));
    } finally {
      await edge.close();
    }
  });

  it('--diagnose counts what a join does: RPCs, storage operations and statements of each object', async () => {
    const edge = await startBenchEdge({ countOps: true });
    try {
      const linkId = await edge.configure(10);
      await edge.connectNode();
      await edge.join(linkId, 'First');
      const first = await edge.takeCounters();
      expect(first['worker->ROOM.join']).toBe(1);
      expect(first['room->REGION.place']).toBeGreaterThanOrEqual(1);
      expect(first['region.place']).toBe(first['room->REGION.place']);
      await edge.join(linkId, 'Second');
      const second = await edge.takeCounters();
      // Taken: the first join's counters are gone; the second join has its node and asks no region.
      expect(second['room.join']).toBe(1);
      expect(second['room->REGION.place']).toBeUndefined();
      expect(second['room.sql.INSERT']).toBeGreaterThanOrEqual(1);
      expect(second['sql room: INSERT INTO participants (participant_id, session_hash, user_id, display_name, role, statu']).toBe(1);
    } finally {
      await edge.close();
    }
  });
});

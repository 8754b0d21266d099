import { describe, expect, it } from 'vitest';
import { inboundQuality, type InboundStream } from '../workers/load-sampler.js';

describe('the node reports inbound loss and jitter over the last interval', () => {
  const at = (received: number, lost: number, jitterMs: number | null, key = 'p1:1'): InboundStream => ({ key, received, lost, jitterMs });

  it('loss comes from what the counters grew by since the last sample', () => {
    const first = inboundQuality([at(100, 0, 5)], new Map());
    expect(first.packetLoss).toBe(0);
    const second = inboundQuality([at(190, 10, 5)], first.counters);
    expect(second.packetLoss).toBeCloseTo(10 / 100);
  });

  it('a stream that stopped (muted, a dropped layer, a vanished sender) leaves the jitter average', () => {
    const flowing = inboundQuality([at(100, 0, 4, 'mic:1'), at(100, 0, 300, 'cam:3')], new Map());
    expect(flowing.jitterMs).toBeCloseTo(152);
    // The camera layer stopped with a high last jitter; only the mic still receives packets.
    const later = inboundQuality([at(150, 0, 4, 'mic:1'), at(100, 0, 300, 'cam:3')], flowing.counters);
    expect(later.jitterMs).toBeCloseTo(4);
    expect(later.packetLoss).toBe(0);
    // Nothing flows at all: no jitter to speak of.
    expect(inboundQuality([at(150, 0, 4, 'mic:1')], later.counters).jitterMs).toBe(0);
  });

  it('a stream whose clock rate is unknown counts for loss but not for jitter', () => {
    const result = inboundQuality([at(50, 50, null)], new Map());
    expect(result.packetLoss).toBeCloseTo(0.5);
    expect(result.jitterMs).toBe(0);
  });
});

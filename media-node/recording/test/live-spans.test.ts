import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FLOWING_SAMPLE_MS, followLiveness, IDLE_SAMPLE_MS, type FollowedProducer } from '../live-spans.js';
import type { TrackRecord } from '../manifest.js';

/** A producer whose pause state and received packet count the test sets. */
class FakeProducer implements FollowedProducer {
  paused = false;
  closed = false;
  packets = 0;
  readonly observer = new EventEmitter();
  async getStats() {
    return [{ packetCount: this.packets }];
  }
  set(state: 'pause' | 'resume' | 'close') {
    if (state === 'pause') this.paused = true;
    if (state === 'resume') this.paused = false;
    if (state === 'close') this.closed = true;
    this.observer.emit(state);
  }
}

describe('live spans of a followed producer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => vi.useRealTimers());

  const follow = (producer: FakeProducer, kind: 'audio' | 'video' = 'audio') => {
    const record: Pick<TrackRecord, 'kind' | 'live' | 'paused'> = { kind, live: [], paused: [] };
    // Packets flow on their own: every tick of the clock adds some while "sending".
    const stop = followLiveness(producer, record, () => undefined);
    return { record, stop };
  };
  const flowFor = async (producer: FakeProducer, ms: number) => {
    for (let t = 0; t < ms; t += 50) {
      producer.packets += 2;
      await vi.advanceTimersByTimeAsync(50);
    }
  };

  it('a sending producer is live from the start; pause, resume and close split its spans', async () => {
    const producer = new FakeProducer();
    producer.packets = 500;
    const { record, stop } = follow(producer);
    await flowFor(producer, 2000);
    producer.set('pause');
    await flowFor(producer, 1000); // a paused producer still receives, it forwards nothing
    producer.set('resume');
    await flowFor(producer, 1000);
    producer.set('close');
    stop();
    expect(record.live).toEqual([
      { from: 0, to: 2000 },
      { from: 3000, to: 4000 },
    ]);
    expect(record.paused).toEqual([{ from: 2000, to: 3000 }]);
  });

  it('a fresh publication is live only from its first packet (placed within a sample)', async () => {
    const producer = new FakeProducer();
    const { record, stop } = follow(producer);
    await vi.advanceTimersByTimeAsync(1500); // published, still connecting: nothing arrives
    expect(record.live).toEqual([]);
    await flowFor(producer, 2000);
    stop();
    expect(record.live).toHaveLength(1);
    expect(Math.abs(record.live[0]!.from - 1500)).toBeLessThanOrEqual(IDLE_SAMPLE_MS);
  });

  it('a sender that stops sending without pausing is idle from its last packet on', async () => {
    const producer = new FakeProducer();
    producer.packets = 10;
    const { record, stop } = follow(producer, 'audio');
    await flowFor(producer, 3000);
    await vi.advanceTimersByTimeAsync(5000);
    stop();
    expect(record.live).toHaveLength(1);
    expect(record.live[0]!.to).toBeGreaterThanOrEqual(3000 - FLOWING_SAMPLE_MS);
    expect(record.live[0]!.to).toBeLessThanOrEqual(3000);
  });
});

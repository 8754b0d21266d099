import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { firstConsumerStart, FLOWING_SAMPLE_MS, followLiveness, IDLE_SAMPLE_MS, type FollowedProducer } from '../live-spans.js';
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

  describe('of a video', () => {
    /** Follows a video whose key frames the test sends (at the fake clock's time). */
    const followVideo = (producer: FakeProducer, fresh: boolean) => {
      const record: Pick<TrackRecord, 'kind' | 'live' | 'paused'> = { kind: 'video', live: [], paused: [] };
      const keyFrames = new EventEmitter();
      const stop = followLiveness(producer, record, () => undefined, {
        fresh,
        keyFrames: (listener) => {
          keyFrames.on('keyframe', listener);
          return () => keyFrames.off('keyframe', listener);
        },
      });
      return { record, stop, keyFrame: () => keyFrames.emit('keyframe', Date.now()), listening: () => keyFrames.listenerCount('keyframe') };
    };

    it('published while recording is live from its first key frame: the packets before it are no picture to anyone', async () => {
      const producer = new FakeProducer();
      const { record, stop, keyFrame, listening } = followVideo(producer, true);
      await flowFor(producer, 700); // delta frames (its first key frame went out before the producer existed)
      expect(record.live).toEqual([]);
      keyFrame(); // asked for by its first consumer
      await flowFor(producer, 1300);
      stop();
      expect(record.live).toEqual([{ from: 700, to: null }]);
      expect(listening()).toBe(0);
    });

    /** A fresh video whose capture resumes when the test says, offered to people at `offeredBy`. */
    const followFresh = (producer: FakeProducer, offeredBy: number) => {
      const record: Pick<TrackRecord, 'kind' | 'live' | 'paused'> = { kind: 'video', live: [], paused: [] };
      const signals = new EventEmitter();
      const subscribe = (name: string) => (listener: (at: number) => void) => {
        signals.on(name, listener);
        return () => void signals.off(name, listener);
      };
      const consumerStarts = firstConsumerStart(subscribe('resume'), offeredBy);
      const stop = followLiveness(producer, record, () => undefined, { fresh: true, keyFrames: subscribe('keyframe'), consumerStarts });
      return { record, stop, keyFrame: () => signals.emit('keyframe', Date.now()), captureResumes: () => signals.emit('resume'), listening: () => signals.listenerCount('resume') };
    };

    it('published while recording: key frames before its capture resumed (nobody consuming it yet) open nothing; the first after, does', async () => {
      const producer = new FakeProducer();
      producer.packets = 10;
      const { record, stop, keyFrame, captureResumes, listening } = followFresh(producer, 750);
      await vi.advanceTimersByTimeAsync(100);
      keyFrame(); // the browser's answer to the worker's own request: no consumer yet
      await flowFor(producer, 200);
      expect(record.live).toEqual([]);
      captureResumes();
      await flowFor(producer, 100);
      keyFrame();
      await flowFor(producer, 500);
      stop();
      expect(record.live).toEqual([{ from: 400, to: null }]);
      expect(listening()).toBe(0);
    });

    it('published while recording: a key frame heard before the first look at its stats opens the span at the key frame, not at the look', async () => {
      const producer = new FakeProducer();
      const record: Pick<TrackRecord, 'kind' | 'live' | 'paused'> = { kind: 'video', live: [], paused: [] };
      const keyFrames = new EventEmitter();
      const stop = followLiveness(producer, record, () => undefined, {
        fresh: true,
        keyFrames: (listener) => (keyFrames.on('keyframe', listener), () => void keyFrames.off('keyframe', listener)),
        consumerStarts: (listener) => (listener(), () => undefined), // the capture resumed at once
        packetCount: () => new Promise((resolve) => setTimeout(() => resolve(10), 300)), // a busy worker answers its stats late
      });
      await vi.advanceTimersByTimeAsync(100);
      keyFrames.emit('keyframe', Date.now());
      await vi.advanceTimersByTimeAsync(600);
      stop();
      expect(record.live).toEqual([{ from: 100, to: null }]);
    });

    it('published while recording, its capture not resumed by the room’s offer deadline: the first key frame after the deadline opens it (a viewer’s)', async () => {
      const producer = new FakeProducer();
      producer.packets = 10;
      const { record, stop, keyFrame } = followFresh(producer, 750);
      await vi.advanceTimersByTimeAsync(100);
      keyFrame();
      await flowFor(producer, 600);
      keyFrame(); // at 700: still nobody
      await flowFor(producer, 200);
      expect(record.live).toEqual([]);
      keyFrame(); // at 900: a viewer offered it at 750 asked
      await flowFor(producer, 500);
      stop();
      expect(record.live).toEqual([{ from: 900, to: null }]);
    });

    /** A video sending when the recording starts, paused at 1 s, still paused at 1.5 s. */
    const sendingThenPaused = async () => {
      const producer = new FakeProducer();
      producer.packets = 500;
      const video = followVideo(producer, false);
      await flowFor(producer, 1000);
      producer.set('pause');
      await flowFor(producer, 500);
      return { producer, ...video };
    };

    it('sending when the recording starts is live from the first look; resumed, from its next key frame', async () => {
      const { producer, record, stop, keyFrame } = await sendingThenPaused();
      producer.set('resume');
      await flowFor(producer, 400);
      keyFrame();
      await flowFor(producer, 600);
      stop();
      expect(record.live).toEqual([
        { from: 0, to: 1000 },
        { from: 1900, to: null },
      ]);
    });

    it('back from a stall is live again at once: its frames go on from the picture already had', async () => {
      const producer = new FakeProducer();
      const { record, stop, keyFrame } = followVideo(producer, true);
      await flowFor(producer, 200);
      keyFrame();
      await flowFor(producer, 800);
      await vi.advanceTimersByTimeAsync(4000); // the sender stopped sending
      await flowFor(producer, 1000);
      stop();
      expect(record.live).toHaveLength(2);
      expect(record.live[0]).toEqual({ from: 200, to: expect.any(Number) });
      expect(Math.abs(record.live[1]!.from - 5000)).toBeLessThanOrEqual(IDLE_SAMPLE_MS);
    });

    it('resumed, its key frame heard before the resume is (the answer to the resume handled late) opens the span at the resume', async () => {
      const { producer, record, stop, keyFrame } = await sendingThenPaused();
      keyFrame(); // the worker resumed and sent it; the resume's answer is still on its way here
      producer.set('resume');
      await flowFor(producer, 500);
      stop();
      expect(record.live).toEqual([
        { from: 0, to: 1000 },
        { from: 1500, to: null },
      ]);
    });
  });
});

import { describe, expect, it } from 'vitest';
import { assessQuality, classify, NOTHING_TO_AWAIT_MS, QualityMeter, remoteMediaBack, sampleOf, type QualitySample } from '../src/call/quality.js';

function sample(streams: Record<string, [received: number, lost: number]>, sending: string[] = [], rttMs: number | null = 40): QualitySample {
  return {
    rttMs,
    streams: new Map(Object.entries(streams).map(([id, [received, lost]]) => [id, { received, lost }])),
    sendingRemotes: new Set(sending),
  };
}

describe('the connection quality rule', () => {
  it('judges the first sample by round trip only', () => {
    expect(assessQuality(null, sample({ a: [100, 0] }, ['c1'])).quality).toBe('good');
    expect(assessQuality(null, sample({}, [], null)).quality).toBe('unknown');
  });

  it('reads a silent stall (someone sends, no packets arrive) as lost, not as 0% loss', () => {
    const before = sample({ a: [500, 0], b: [900, 1] }, ['c1', 'c2']);
    const stalled = sample({ a: [500, 0], b: [900, 1] }, ['c1', 'c2']);
    const reading = assessQuality(before, stalled);
    expect(reading.quality).toBe('lost');
    expect(reading.lossPercent).toBe(100);
  });

  it('is good when nobody sends and nothing arrives', () => {
    expect(assessQuality(sample({ a: [500, 0] }), sample({ a: [500, 0] })).quality).toBe('good');
  });

  it('does not call a track lost that started sending within the window', () => {
    expect(assessQuality(sample({}, []), sample({}, ['new'])).quality).toBe('good');
  });

  it('is lost when only the tracks that kept sending went quiet', () => {
    // c1 sent throughout and nothing came; c2 was paused at the start of the window.
    expect(assessQuality(sample({ a: [10, 0] }, ['c1']), sample({ a: [10, 0] }, ['c1', 'c2'])).quality).toBe('lost');
  });

  it('grades loss and round trip', () => {
    expect(assessQuality(sample({ a: [0, 0] }, ['c1']), sample({ a: [99, 1] }, ['c1'])).quality).toBe('good');
    expect(assessQuality(sample({ a: [0, 0] }, ['c1']), sample({ a: [96, 4] }, ['c1'])).quality).toBe('fair');
    expect(assessQuality(sample({ a: [0, 0] }, ['c1']), sample({ a: [90, 10] }, ['c1'])).quality).toBe('poor');
    expect(assessQuality(sample({ a: [0, 0] }, ['c1']), sample({ a: [100, 0] }, ['c1'], 300)).quality).toBe('fair');
    expect(classify(500, 0)).toBe('poor');
  });

  it('counts a stream that began in the window whole, and a closed one not at all', () => {
    const reading = assessQuality(sample({ gone: [1000, 50] }, ['c1']), sample({ fresh: [40, 0] }, ['c1']));
    expect(reading.quality).toBe('good');
    expect(reading.lossPercent).toBe(0);
  });

  it('starts over for a new receive transport', () => {
    const meter = new QualityMeter();
    expect(meter.sample(sample({ a: [100, 0] }, ['c1']))).toBe('good');
    expect(meter.sample(sample({ a: [100, 0] }, ['c1']))).toBe('lost');
    meter.reset();
    expect(meter.sample(sample({ b: [0, 0] }, ['c9']))).toBe('good');
    expect(meter.lossPercent).toBeNull();
  });

  it('reads a WebRTC stats report: only the streams of our remote tracks, not the node’s bandwidth probes', () => {
    const report = new Map<string, Record<string, unknown>>([
      ['CP1', { type: 'candidate-pair', state: 'succeeded', nominated: true, currentRoundTripTime: 0.031 }],
      ['IT1', { id: 'IT1', type: 'inbound-rtp', trackIdentifier: 'cam', packetsReceived: 120, packetsLost: 3 }],
      ['IT2', { id: 'IT2', type: 'inbound-rtp', trackIdentifier: 'mic', packetsReceived: 7, packetsLost: -1 }],
      ['IT3', { id: 'IT3', type: 'inbound-rtp', trackIdentifier: 'probator', packetsReceived: 400, packetsLost: 0 }],
      ['OT1', { id: 'OT1', type: 'outbound-rtp', packetsSent: 999 }],
    ]);
    const read = sampleOf(report, [
      { trackId: 'cam', sending: true },
      { trackId: 'mic', sending: false },
    ]);
    expect(read.rttMs).toBeCloseTo(31);
    expect([...read.streams]).toEqual([
      ['IT1', { received: 120, lost: 3 }],
      ['IT2', { received: 7, lost: 0 }],
    ]);
    expect([...read.sendingRemotes]).toEqual(['cam']);
  });

  it('a stall with only probe padding arriving still reads as lost', () => {
    const at = (probe: number) =>
      sampleOf(
        new Map<string, Record<string, unknown>>([
          ['IT1', { id: 'IT1', type: 'inbound-rtp', trackIdentifier: 'cam', packetsReceived: 500, packetsLost: 0 }],
          ['IT3', { id: 'IT3', type: 'inbound-rtp', trackIdentifier: 'probator', packetsReceived: probe, packetsLost: 0 }],
        ]),
        [{ trackId: 'cam', sending: true }],
      );
    expect(assessQuality(at(100), at(300)).quality).toBe('lost');
    expect(remoteMediaBack(sampleOf(new Map([['IT3', { id: 'IT3', type: 'inbound-rtp', trackIdentifier: 'probator', packetsReceived: 50 }]]), [{ trackId: 'cam', sending: true }]), 60_000)).toBe(false);
  });
});

describe('after a reconnect, when the connection counts as back', () => {
  it('is back once remote packets arrive on the new session', () => {
    expect(remoteMediaBack(sample({ a: [1, 0] }, ['c1']), 10)).toBe(true);
  });

  it('is not back while someone sends and nothing has arrived, however long it takes', () => {
    expect(remoteMediaBack(sample({}, ['c1']), 60_000)).toBe(false);
    expect(remoteMediaBack(sample({ a: [0, 0] }, ['c1']), 60_000)).toBe(false);
  });

  it('with nobody sending, is back after the node had a moment to offer what exists', () => {
    expect(remoteMediaBack(sample({}, []), NOTHING_TO_AWAIT_MS - 1)).toBe(false);
    expect(remoteMediaBack(sample({}, []), NOTHING_TO_AWAIT_MS)).toBe(true);
  });
});

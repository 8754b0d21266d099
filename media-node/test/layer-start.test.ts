import dgram from 'node:dgram';
import { once } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LayerStart, YOUNG_PRODUCER_MS } from '../rooms/layer-start.js';
import { LAYER_BYTES, LAYER_SSRCS, RAW_SIMULCAST_RTP_PARAMETERS, rawSimulcastSender, type RawSimulcastSender } from './peers/raw-simulcast-sender.js';

/**
 * A fresh simulcast producer whose sender drops its top layer (Chrome does while its send
 * estimate ramps up, and on a loaded box) must not leave a new consumer black until mediasoup
 * declares that layer inactive. Reproduced with a real worker and an RTP-level sender: a consumer
 * aimed at the top layer forwards nothing before the dropped layer's score falls to 0; one started
 * by LayerStart forwards the lowest layer at once and climbs once the higher layer it can get is
 * known. Ordered by events, not timed: "before/after the layer was declared inactive".
 */

let worker: types.Worker;

beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'error' });
});
afterAll(() => worker?.close());

interface Run {
  sender: RawSimulcastSender;
  router: types.Router;
  consumer: types.Consumer;
  /** Payload sizes of the packets the consumer forwarded, with the order they came in. */
  forwarded: Array<{ bytes: number; order: number }>;
  /** Order number at which the producer's dropped top layer was declared inactive (score 0). */
  topInactiveAt: () => number | null;
  next: () => number;
  close: () => Promise<void>;
}

let run: Run | null = null;
afterEach(async () => {
  await run?.close();
  run = null;
});

const payloadBytes = (packet: Buffer): number => {
  let header = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) header += 4 + 4 * packet.readUInt16BE(header + 2);
  return packet.length - header;
};

/** A producer sending three layers, its top layer dropped after a moment, and a paused consumer of it. */
async function youngProducerWithDroppedTopLayer(): Promise<Run> {
  const router = await worker.createRouter({ mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90_000 }] });
  const inbound = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
  const producer = await inbound.produce({
    kind: 'video',
    rtpParameters: RAW_SIMULCAST_RTP_PARAMETERS,
  });
  let order = 0;
  const next = () => ++order;
  let topInactive: number | null = null;
  producer.on('score', (scores) => {
    if (topInactive === null && scores.some((s) => s.ssrc === LAYER_SSRCS[2] && s.score === 0)) topInactive = next();
  });

  const sender = await rawSimulcastSender();
  sender.start({ ip: '127.0.0.1', port: inbound.tuple.localPort });
  // All three layers run long enough to exist with a score, then the top one stops.
  await waitFor(async () => (await producer.getStats()).length === 3, 'three layers received');
  sender.setLayerActive(2, false);

  const sink = dgram.createSocket('udp4');
  sink.bind(0, '127.0.0.1');
  await once(sink, 'listening');
  const forwarded: Run['forwarded'] = [];
  const outbound = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
  await outbound.connect({ ip: '127.0.0.1', port: sink.address().port });
  const consumer = await outbound.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, paused: true });
  // Media only: RTCP and mediasoup's bandwidth probation packets (their own payload type) are not frames.
  const mediaPayloadType = consumer.rtpParameters.codecs[0]!.payloadType;
  sink.on('message', (packet: Buffer) => {
    if ((packet[1]! & 0x7f) === mediaPayloadType) forwarded.push({ bytes: payloadBytes(packet), order: next() });
  });
  return {
    sender,
    router,
    consumer,
    forwarded,
    topInactiveAt: () => topInactive,
    next,
    close: async () => {
      await sender.close();
      sink.close();
      router.close();
    },
  };
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Layer of a forwarded packet, by its size. */
const layerOf = (bytes: number) => LAYER_BYTES.findIndex((size) => size === bytes);

describe('LayerStart: a consumer of a young simulcast producer', () => {
  it('reproduction: aimed at the top layer, it forwards nothing until the dropped layer is declared inactive', async () => {
    run = await youngProducerWithDroppedTopLayer();
    expect(run.consumer.type).toBe('simulcast');
    await run.consumer.resume();
    await run.consumer.requestKeyFrame();
    await waitFor(() => run!.forwarded.length > 0, 'a forwarded packet');
    const inactiveAt = run.topInactiveAt();
    expect(inactiveAt).not.toBeNull();
    expect(run.forwarded[0]!.order).toBeGreaterThan(inactiveAt!);
  });

  it('started low, it forwards the lowest layer before the dropped layer is declared inactive, then climbs to the best layer sent', async () => {
    run = await youngProducerWithDroppedTopLayer();
    const start = new LayerStart(run.consumer);
    await start.startLow(0);
    expect(start.isStarting).toBe(true);
    await run.consumer.resume();
    await run.consumer.requestKeyFrame();
    await waitFor(() => run!.forwarded.length > 0, 'a forwarded packet');
    expect(layerOf(run.forwarded[0]!.bytes)).toBe(0);
    // Raised as soon as video flowed: the preference is the top layer again.
    await waitFor(() => run!.consumer.preferredLayers?.spatialLayer === 2, 'the preference raised to the top layer');
    expect(start.isStarting).toBe(false);
    // Forwarding went on while the dropped top layer was still counted as live...
    await waitFor(() => run!.topInactiveAt() !== null, 'the top layer declared inactive');
    const inactiveAt = run.topInactiveAt()!;
    expect(run.forwarded[0]!.order).toBeLessThan(inactiveAt);
    expect(run.forwarded.filter((p) => p.order < inactiveAt).length).toBeGreaterThan(5);
    // ...and then it moved up to the middle layer, the best one still sent.
    await waitFor(() => run!.forwarded.some((p) => layerOf(p.bytes) === 1), 'the middle layer forwarded');
  });

  it('holds a layer wish made while starting and applies it once video flows', async () => {
    run = await youngProducerWithDroppedTopLayer();
    const start = new LayerStart(run.consumer);
    await start.startLow(0);
    await start.prefer({ spatialLayer: 1, temporalLayer: 0 });
    expect(run.consumer.preferredLayers?.spatialLayer).toBe(0);
    expect(start.isStarting).toBe(true);
    await run.consumer.resume();
    await waitFor(() => run!.consumer.preferredLayers?.spatialLayer === 1, 'the wish applied');
    expect(run.consumer.preferredLayers).toEqual({ spatialLayer: 1, temporalLayer: 0 });
    expect(start.isStarting).toBe(false);

  });

  it('held paused (a camera off the grid page), it stays low while its producer is young, and climbs once resumed and flowing', async () => {
    run = await youngProducerWithDroppedTopLayer();
    const raiseAnywayMs = 300;
    const start = new LayerStart(run.consumer, raiseAnywayMs);
    await start.startLow(0);
    // Several raise-anyway periods pass while paused: nothing was forwarded, so nothing is known yet.
    await new Promise((resolve) => setTimeout(resolve, 4 * raiseAnywayMs));
    expect(start.isStarting).toBe(true);
    expect(run.consumer.preferredLayers?.spatialLayer).toBe(0);
    await run.consumer.resume();
    await run.consumer.requestKeyFrame();
    await waitFor(() => run!.forwarded.length > 0, 'a forwarded packet');
    await waitFor(() => !start.isStarting && run!.consumer.preferredLayers?.spatialLayer === 2, 'the preference raised once resumed');
  });

  it('held paused until its producer settles, it is raised then', async () => {
    run = await youngProducerWithDroppedTopLayer();
    const start = new LayerStart(run.consumer, 60_000);
    await start.startLow(YOUNG_PRODUCER_MS - 300);
    expect(start.isStarting).toBe(true);
    await waitFor(() => !start.isStarting && run!.consumer.preferredLayers?.spatialLayer === 2, 'raised once the producer is no longer young');
    expect(run.consumer.paused).toBe(true);
  });

  it('leaves a consumer of a settled producer on the top layer', async () => {
    run = await youngProducerWithDroppedTopLayer();
    const settled = new LayerStart(run.consumer);
    await settled.startLow(YOUNG_PRODUCER_MS);
    expect(settled.isStarting).toBe(false);
    expect(run.consumer.preferredLayers?.spatialLayer).toBe(2);
    await settled.prefer({ spatialLayer: 1 });
    expect(run.consumer.preferredLayers?.spatialLayer).toBe(1);
  });
});

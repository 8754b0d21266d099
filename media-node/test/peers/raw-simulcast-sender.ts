import dgram from 'node:dgram';
import { once } from 'node:events';

/**
 * A VP8 simulcast sender at the RTP level, for behaviour a browser shows only now and then: its
 * layers start and stop at the test's word (Chrome drops its top layer while its send estimate
 * ramps), each answers a PLI with a key frame only while it is sending, and each sends a Sender
 * Report every 500 ms (mediasoup switches spatial layers only between layers with one). One packet
 * per frame at 30 fps; a layer's packets have their own size, so a receiver can tell them apart.
 */
export const LAYER_BYTES = [300, 600, 1200] as const;
export const LAYER_SSRCS = [11_111, 22_222, 33_333] as const;
export const VP8_PAYLOAD_TYPE = 101;
const FRAME_MS = 33;

/** What a PlainTransport producer of this sender is given: VP8 on its payload type, one encoding per layer. */
export const RAW_SIMULCAST_RTP_PARAMETERS = {
  codecs: [{ mimeType: 'video/VP8', payloadType: VP8_PAYLOAD_TYPE, clockRate: 90_000, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }] }],
  encodings: LAYER_SSRCS.map((ssrc) => ({ ssrc })),
};

export interface RawSimulcastSender {
  readonly port: number;
  /** Starts sending to the producer's PlainTransport (comedia: it learns our address from the first packet). */
  start(to: { ip: string; port: number }): void;
  /** Stops (false) or restarts (true, with a key frame) one layer. */
  setLayerActive(layer: number, active: boolean): void;
  /** PLIs received per layer. */
  readonly plis: number[];
  /** Every PLI received, in order: when (Date.now()), for which layer, and whether it was acted on. */
  readonly pliLog: ReadonlyArray<{ at: number; layer: number; honoured: boolean }>;
  close(): Promise<void>;
}

function vp8Packet(layer: number, seq: number, timestamp: number, key: boolean, pictureId: number): Buffer {
  const packet = Buffer.alloc(12 + LAYER_BYTES[layer]!, 0x55);
  packet[0] = 0x80;
  packet[1] = 0x80 | VP8_PAYLOAD_TYPE; // marker: one packet per frame
  packet.writeUInt16BE(seq & 0xffff, 2);
  packet.writeUInt32BE(timestamp >>> 0, 4);
  packet.writeUInt32BE(LAYER_SSRCS[layer]!, 8);
  // VP8 descriptor (X, S, partition 0; 15-bit picture id), then the payload header: bit 0 of its
  // first byte is 0 on a key frame (which also carries the start code and size).
  Buffer.from([0x90, 0x80, 0x80 | ((pictureId >> 8) & 0x7f), pictureId & 0xff]).copy(packet, 12);
  if (key) Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]).copy(packet, 16);
  else packet[16] = 0x11;
  return packet;
}

function senderReport(ssrc: number, rtpTimestamp: number, packets: number, octets: number): Buffer {
  const report = Buffer.alloc(28);
  report[0] = 0x80;
  report[1] = 200;
  report.writeUInt16BE(6, 2);
  report.writeUInt32BE(ssrc, 4);
  const ms = Date.now();
  report.writeUInt32BE(Math.floor(ms / 1000) + 2_208_988_800, 8);
  report.writeUInt32BE(Math.floor(((ms % 1000) / 1000) * 2 ** 32) >>> 0, 12);
  report.writeUInt32BE(rtpTimestamp >>> 0, 16);
  report.writeUInt32BE(packets, 20);
  report.writeUInt32BE(octets, 24);
  return report;
}

/** SSRCs asked for a key frame in an RTCP compound packet (PLI: PSFB, FMT 1). */
export function pliSsrcs(packet: Buffer): number[] {
  const ssrcs: number[] = [];
  for (let offset = 0; offset + 12 <= packet.length; ) {
    const length = (packet.readUInt16BE(offset + 2) + 1) * 4;
    if (packet[offset + 1] === 206 && (packet[offset]! & 0x1f) === 1) ssrcs.push(packet.readUInt32BE(offset + 8));
    offset += length;
  }
  return ssrcs;
}

export interface RawSenderOptions {
  /**
   * Act like Chrome's encoder (libwebrtc EncoderRtcpFeedback): a PLI within this many ms of the
   * last one acted on is dropped, and one acted on gives a key frame on every layer. Default: every
   * PLI gives its own layer a key frame.
   */
  chromeKeyFrameIntervalMs?: number;
}

export async function rawSimulcastSender(options: RawSenderOptions = {}): Promise<RawSimulcastSender> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const active = [true, true, true];
  const needsKey = [true, true, true];
  const seq = [0, 0, 0];
  const sent = [0, 0, 0];
  const plis = [0, 0, 0];
  const pliLog: Array<{ at: number; layer: number; honoured: boolean }> = [];
  let lastHonouredAt = -Infinity;
  const startedAt = Date.now();
  let pictureId = 0;
  let frames: NodeJS.Timeout | null = null;
  let reports: NodeJS.Timeout | null = null;
  const rtpNow = () => Math.round((Date.now() - startedAt) * 90);

  socket.on('message', (packet) => {
    for (const ssrc of pliSsrcs(packet)) {
      const layer = LAYER_SSRCS.indexOf(ssrc as (typeof LAYER_SSRCS)[number]);
      if (layer < 0) continue;
      plis[layer]!++;
      const at = Date.now();
      const chrome = options.chromeKeyFrameIntervalMs;
      const honoured = chrome === undefined || at - lastHonouredAt >= chrome;
      pliLog.push({ at, layer, honoured });
      if (!honoured) continue;
      lastHonouredAt = at;
      for (let l = 0; l < 3; l++) if (active[l] && (chrome !== undefined || l === layer)) needsKey[l] = true;
    }
  });

  return {
    port: socket.address().port,
    plis,
    pliLog,
    start(to) {
      frames = setInterval(() => {
        pictureId = (pictureId + 1) & 0x7fff;
        const timestamp = rtpNow();
        for (let layer = 0; layer < 3; layer++) {
          if (!active[layer]) continue;
          socket.send(vp8Packet(layer, seq[layer]!++, timestamp, needsKey[layer]!, pictureId), to.port, to.ip);
          needsKey[layer] = false;
          sent[layer]!++;
        }
      }, FRAME_MS);
      reports = setInterval(() => {
        for (let layer = 0; layer < 3; layer++) {
          if (active[layer]) socket.send(senderReport(LAYER_SSRCS[layer]!, rtpNow(), sent[layer]!, sent[layer]! * LAYER_BYTES[layer]!), to.port, to.ip);
        }
      }, 500);
    },
    setLayerActive(layer, on) {
      if (on && !active[layer]) needsKey[layer] = true;
      active[layer] = on;
    },
    async close() {
      if (frames) clearInterval(frames);
      if (reports) clearInterval(reports);
      socket.close();
      await once(socket, 'close');
    },
  };
}

/**
 * A werift WebRTC peer that publishes one VP8 camera track as 3-layer simulcast (three SSRCs,
 * each a key frame every packet so any layer can be switched to at once), over the node's
 * signaling protocol. werift's sender supports one SSRC only, so the layers go straight through
 * its DTLS transport's SRTP: real ICE, DTLS and SRTP all the same. `dropFraction` skips that share
 * of packets while still counting them as sent: a known loss for the harness's own test.
 */
import { MediaStreamTrack, RTCPeerConnection, RtpHeader, useNACK, usePLI, useVP8 } from 'werift';
import { loopbackPeerConfig, PEER_RTP_CAPABILITIES } from '../../media-node/test/peers/werift-peer.js';
import { SignalingClient } from '../../media-node/test/peers/signaling-client.js';
import { cnameOf, fingerprintOf, mediaSections, midOf, payloadTypeOf, sendAnswer } from '../../media-node/test/peers/sdp.js';

/** Bytes per packet of each layer (one packet per frame at 30 fps): ~70, ~150 and ~290 kbps. */
export const LAYER_PAYLOAD_BYTES = [300, 600, 1200] as const;
const FRAME_MS = 33;

/** A VP8 key frame start with a 15-bit picture id (as browsers send). */
function vp8Payload(size: number, pictureId: number): Buffer {
  const payload = Buffer.alloc(size, 0x55);
  Buffer.from([0x90, 0x80, 0x80 | ((pictureId >> 8) & 0x7f), pictureId & 0xff, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]).copy(payload);
  return payload;
}

export interface SimulcastPublisher {
  /** Packets of one layer counted as sent so far (every layer sends the same number). */
  readonly framesSent: number;
  producerId: string;
  close(): Promise<void>;
}

export async function publishSimulcast(signalingUrl: string, options: { dropFraction?: number } = {}): Promise<SimulcastPublisher> {
  const signaling = await SignalingClient.connect(signalingUrl);
  await signaling.request('getRouterRtpCapabilities', {});
  await signaling.request('join', { rtpCapabilities: PEER_RTP_CAPABILITIES });
  const transport = await signaling.request('createTransport', { direction: 'send' });
  const pc = new RTCPeerConnection({ ...(await loopbackPeerConfig()), codecs: { video: [useVP8({ rtcpFeedback: [useNACK(), usePLI()] })] }, headerExtensions: { video: [] } });
  const transceiver = pc.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const sdp = pc.localDescription?.sdp ?? offer.sdp ?? '';
  const section = mediaSections(sdp)[0];
  if (!section) throw new Error('no video m-section');
  const mid = midOf(section);
  const payloadType = payloadTypeOf(section, 'VP8');
  await signaling.request('connectTransport', { transportId: transport.id, dtlsParameters: { role: 'client', fingerprints: [fingerprintOf(sdp)] } });
  await pc.setRemoteDescription({ type: 'answer', sdp: sendAnswer(transport, [{ kind: 'video', mid, payloadType }]) });
  const base = transceiver.sender.ssrc;
  const ssrcs = [base, (base + 1) >>> 0, (base + 2) >>> 0];
  const { producerId } = await signaling.request('produce', {
    transportId: transport.id,
    kind: 'video',
    source: 'camera',
    rtpParameters: {
      mid,
      codecs: [{ mimeType: 'video/VP8', payloadType, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] }],
      headerExtensions: [],
      encodings: ssrcs.map((ssrc, i) => ({ ssrc, maxBitrate: [100_000, 300_000, 900_000][i] })),
      rtcp: { cname: cnameOf(sdp), reducedSize: true },
    },
  });
  const connected = new Promise<void>((resolve) => {
    const check = () => (pc.connectionState === 'connected' ? resolve() : undefined);
    pc.connectionStateChange.subscribe(check);
    check();
  });
  await connected;

  let frames = 0;
  let sequence = 1;
  const dropEvery = options.dropFraction ? 1 / options.dropFraction : 0;
  const dtls = transceiver.sender.dtlsTransport;
  const timer = setInterval(() => {
    frames++;
    sequence = (sequence + 1) & 0xffff;
    // Skips whole frames on every layer: drop 1 in (1/fraction) frames, evenly.
    if (dropEvery > 0 && Math.floor(frames / dropEvery) !== Math.floor((frames - 1) / dropEvery)) return;
    for (const [layer, ssrc] of ssrcs.entries()) {
      const header = new RtpHeader({ sequenceNumber: sequence, timestamp: (frames * 3000) >>> 0, marker: true, payloadType, ssrc });
      void dtls.sendRtp(vp8Payload(LAYER_PAYLOAD_BYTES[layer]!, frames & 0x7fff), header);
    }
  }, FRAME_MS);
  return {
    get framesSent() {
      return frames;
    },
    producerId,
    close: async () => {
      clearInterval(timer);
      signaling.close();
      await pc.close().catch(() => undefined);
    },
  };
}

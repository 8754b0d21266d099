import type { RemoteInfo, Socket } from 'node:dgram';
import {
  isMedia,
  isRtcp,
  MediaStreamTrack,
  RTCPeerConnection,
  RtpHeader,
  RtpPacket,
  useNACK,
  useOPUS,
  usePLI,
  useTransportWideCC,
  useTWCC,
  useVP8,
  type RTCPeerConnectionConfig,
  type RTCRtpTransceiver,
} from 'werift';
import type { ConsumerInfo, Permission, TransportInfo } from '../../../schema/wire/index.js';
import { loopbackStunPort } from './loopback-stun.js';
import { SignalingClient } from './signaling-client.js';
import { cnameOf, fingerprintOf, mediaSections, midOf, payloadTypeOf, recvOffer, sendAnswer, setupOf, type SendSection } from './sdp.js';

/**
 * ICE on loopback only: werift would otherwise ask a public STUN server (an empty iceServers list
 * does not stop it), so give it a loopback STUN server, gather on 127.0.0.1 and keep only pairs
 * to 127.0.0.1.
 */
export async function loopbackPeerConfig(): Promise<RTCPeerConnectionConfig> {
  return {
    iceServers: [{ urls: `stun:127.0.0.1:${await loopbackStunPort()}` }],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    iceUseIpv6: false,
    iceFilterCandidatePair: (pair) => pair.remoteCandidate.host === '127.0.0.1',
  };
}

/** What the peer tells the node it can receive: Opus and VP8 (with transport-cc for BWE). */
export const PEER_RTP_CAPABILITIES = {
  codecs: [
    { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 100, parameters: {}, rtcpFeedback: [] },
    {
      kind: 'video',
      mimeType: 'video/VP8',
      clockRate: 90000,
      preferredPayloadType: 101,
      parameters: {},
      rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'transport-cc' }],
    },
  ],
  headerExtensions: [
    {
      kind: 'video',
      uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
      preferredId: 5,
      preferredEncrypt: false,
      direction: 'sendrecv',
    },
  ],
};

const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const AUDIO_LEVEL_ID = 10;

/** A VP8 payload that mediasoup reads as the start of a key frame (so consumers start at once). */
function vp8KeyFramePayload(size: number): Buffer {
  const payload = Buffer.alloc(size, 0x55);
  // Payload descriptor: S=1, PID=0. Then the VP8 header: P=0 (key frame), show_frame, start code, 640x480.
  Buffer.from([0x10, 0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]).copy(payload);
  return payload;
}

/**
 * werift counts a consent check (RFC 7675, one every ~5 s) as failed when its answer takes longer
 * than 2 × RTT + 200 ms (at least 500 ms), and stops sending after 30 s of such failures; Chrome
 * counts any answer within its 30 s window. On a saturated box a node's answers came 0.5-1 s late
 * for half a minute and werift peers fell silent where a browser would not: allow an answer up to
 * 4.5 s by pinning the pair's RTT, which werift reads for that timeout (a check still ends when
 * the next one is sent, 4-6 s later).
 */
function browserLikeConsent(pc: RTCPeerConnection): void {
  pc.iceConnectionStateChange.subscribe((state) => {
    const pair = state === 'connected' ? pc.iceTransports[0]?.connection.nominated : undefined;
    if (pair) Object.defineProperty(pair, 'rtt', { get: () => 2.15, set: () => undefined, configurable: true });
  });
}

export interface ReceivedTrack {
  consumer: ConsumerInfo;
  packets: number;
}

export interface WeriftPeerOptions {
  /** Base signaling URL (ws://host:port) — the token is appended. */
  url: string;
  token: string;
  /** Benchmarks on a saturated box: tolerate late consent answers as Chrome does (see browserLikeConsent). */
  browserLikeConsent?: boolean;
}

/**
 * A real WebRTC participant in Node (werift): joins a media node over its signaling WebSocket,
 * publishes synthetic Opus + VP8 RTP over ICE/DTLS/SRTP, and receives and counts every consumer's
 * RTP. Reusable by any test that needs real peers (recording tests too).
 */
export class WeriftPeer {
  readonly received = new Map<string, ReceivedTrack>();
  readonly producerIds: { audio?: string; video?: string } = {};
  private sendPc: RTCPeerConnection | undefined;
  private recvPc: RTCPeerConnection | undefined;
  private recvTransport: TransportInfo | undefined;
  private recvConnected = false;
  private readonly consumersInOrder: ConsumerInfo[] = [];
  private negotiation: Promise<void> = Promise.resolve();
  private mediaTimers: NodeJS.Timeout[] = [];
  readonly sentPackets = { audio: 0, video: 0 };
  /** The level (-dBov) audio is sent at now; `setAudioLevel` changes it while sending. */
  private audioLevel = 127;
  /** 'spurts': speech-like talk spurts around the level; 'steady': every packet at the level. */
  private speech: 'spurts' | 'steady' = 'spurts';
  /**
   * Benchmarks: each sent payload ends with its send time (epoch ms with sub-ms precision,
   * performance.timeOrigin + performance.now(), float64 BE), which is also handed to `onSent`
   * with the packet's RTP timestamp (unique per packet of a kind; relays keep it).
   */
  private stamp = false;
  onSent: ((kind: 'audio' | 'video', stamp: number, rtpTimestamp: number) => void) | undefined;
  /**
   * Benchmarks that need many receivers on few cores (`join({ receive: 'raw' })`): each consumer's
   * SRTP packet as it arrived (its RTP header is in the clear), with a function that authenticates
   * and decrypts it into the whole RTP packet (throws if it is not authentic). werift's RTP stack
   * (decryption, NACK, transport-cc feedback, the track's events) never sees these packets; RTCP,
   * DTLS and ICE still go to werift.
   */
  onSrtp: ((consumer: ConsumerInfo, packet: Buffer, decrypt: () => Buffer) => void) | undefined;
  private raw = false;
  private lenientConsent = false;

  private constructor(readonly signaling: SignalingClient) {}

  /** Connects and joins: router capabilities, receive transport (when allowed), join. */
  static async join(options: WeriftPeerOptions & { receive?: boolean | 'raw' }): Promise<WeriftPeer> {
    const signaling = await SignalingClient.authenticate(options.url, options.token);
    const peer = new WeriftPeer(signaling);
    peer.raw = options.receive === 'raw';
    peer.lenientConsent = options.browserLikeConsent === true;
    signaling.socket.on('message', () => peer.onNotifications());
    await signaling.request('getRouterRtpCapabilities', {});
    if (options.receive !== false) peer.recvTransport = await signaling.request('createTransport', { direction: 'recv' });
    await signaling.request('join', { rtpCapabilities: PEER_RTP_CAPABILITIES });
    return peer;
  }

  private handledNotifications = 0;
  private onNotifications(): void {
    const all = this.signaling.notifications;
    for (; this.handledNotifications < all.length; this.handledNotifications++) {
      const message = all[this.handledNotifications];
      if (message?.notification === 'newConsumer') this.addConsumer(message.data);
    }
  }

  private addConsumer(consumer: ConsumerInfo): void {
    this.consumersInOrder.push(consumer);
    this.received.set(consumer.consumerId, { consumer, packets: 0 });
    this.negotiation = this.negotiation
      .then(() => this.negotiateRecv())
      .then(() => this.signaling.request('resumeConsumer', { consumerId: consumer.consumerId }))
      .then(() => undefined)
      .catch(() => undefined);
  }

  private async negotiateRecv(): Promise<void> {
    const transport = this.recvTransport;
    if (!transport) return;
    if (!this.recvPc) {
      const audio = this.consumersInOrder.find((c) => c.kind === 'audio')?.rtpParameters.codecs[0]?.payloadType ?? 100;
      const video = this.consumersInOrder.find((c) => c.kind === 'video')?.rtpParameters.codecs[0]?.payloadType ?? 101;
      this.recvPc = new RTCPeerConnection({
        ...(await loopbackPeerConfig()),
        codecs: {
          audio: [useOPUS({ payloadType: audio })],
          video: [useVP8({ payloadType: video, rtcpFeedback: [useNACK(), usePLI(), useTWCC()] })],
        },
        headerExtensions: { audio: [], video: [useTransportWideCC()] },
      });
      this.recvPc.ontrack = ({ track, transceiver }) => this.countTrack(track, transceiver);
      if (this.lenientConsent) browserLikeConsent(this.recvPc);
    }
    const pc = this.recvPc;
    await pc.setRemoteDescription({ type: 'offer', sdp: recvOffer(transport, this.consumersInOrder) });
    if (this.raw) this.tapSrtp(pc);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (!this.recvConnected) {
      this.recvConnected = true;
      const role = setupOf(answer.sdp ?? '') === 'passive' ? 'server' : 'client';
      await this.signaling.request('connectTransport', {
        transportId: transport.id,
        dtlsParameters: { role, fingerprints: [fingerprintOf(pc.localDescription?.sdp ?? answer.sdp ?? '')] },
      });
    }
  }

  private tapped = false;

  /**
   * Takes incoming SRTP off werift's path (see `onSrtp`): RTP packets of known consumers stop at
   * the ICE connection's UDP sockets, before werift parses each datagram as STUN and hands it down
   * its listeners (that path was 15-20 % of the webinar bench's viewer processes' CPU: 29-33 µs
   * per packet received against 25-27). Until the sockets exist (gathered after the answer), the ICE
   * connection's data event does the same. Installed once the offer made the transport.
   */
  private tapSrtp(pc: RTCPeerConnection): void {
    const dtls = pc.dtlsTransports[0];
    if (this.tapped || !dtls) return;
    this.tapped = true;
    const bySsrc = (ssrc: number) => this.consumersInOrder.find((consumer) => consumer.rtpParameters.encodings?.[0]?.['ssrc'] === ssrc);
    /** True when `data` was a consumer's RTP packet (not RTCP, as werift's isRtcp tells them apart), now handed to onSrtp. */
    const takeRtp = (data: Buffer): boolean => {
      const consumer = isMedia(data) && !isRtcp(data) && data.length >= 12 ? bySsrc(data.readUInt32BE(8)) : undefined;
      if (!consumer) return false;
      const entry = this.received.get(consumer.consumerId);
      if (entry) entry.packets++;
      this.onSrtp?.(consumer, data, () => dtls.srtp.decrypt(data));
      return true;
    };
    const connection = dtls.iceTransport.connection;
    const event = connection.onData;
    const deliver = event.execute;
    const tappedSockets = new Set<Socket>();
    event.execute = (data: Buffer) => {
      // A packet came up werift's path: tap the sockets gathered since.
      // werift's IceConnection type does not show its protocols (each a UDP transport and its socket).
      for (const protocol of (connection as unknown as { protocols: { transport?: { socket?: Socket } }[] }).protocols) {
        const socket = protocol.transport?.socket;
        if (socket && !tappedSockets.has(socket)) {
          tappedSockets.add(socket);
          tapSocket(socket, takeRtp);
        }
      }
      if (!takeRtp(data)) deliver(data);
    };
  }

  private readonly countedMids = new Set<string>();

  private countTrack(track: MediaStreamTrack, transceiver: RTCRtpTransceiver): void {
    const consumer = this.consumersInOrder.find((c) => c.rtpParameters.mid === transceiver.mid);
    // Renegotiation may announce a track again: count each consumer's packets once.
    if (!consumer || this.countedMids.has(transceiver.mid ?? '')) return;
    this.countedMids.add(transceiver.mid ?? '');
    track.onReceiveRtp.subscribe((rtp) => {
      const entry = this.received.get(consumer.consumerId);
      if (entry) entry.packets++;
    });
  }

  /**
   * Publishes mic (Opus) and/or camera (VP8) and starts sending synthetic RTP. Audio carries the
   * ssrc-audio-level header extension at `audioLevel` (-dBov: 0 loudest, 127 silence).
   */
  async publish(
    kinds: { audio?: boolean; video?: boolean; audioLevel?: number; speech?: 'spurts' | 'steady'; stamp?: boolean } = { audio: true, video: true },
  ): Promise<void> {
    this.audioLevel = kinds.audioLevel ?? 127;
    this.speech = kinds.speech ?? 'spurts';
    this.stamp = kinds.stamp === true;
    const transport = await this.signaling.request('createTransport', { direction: 'send' });
    const pc = new RTCPeerConnection({
      ...(await loopbackPeerConfig()),
      codecs: { audio: [useOPUS()], video: [useVP8({ rtcpFeedback: [useNACK(), usePLI()] })] },
      headerExtensions: { audio: [], video: [] },
    });
    if (this.lenientConsent) browserLikeConsent(pc);
    this.sendPc = pc;
    const wanted = (['audio', 'video'] as const).filter((kind) => kinds[kind] !== false);
    const transceivers = wanted.map((kind) => ({ kind, transceiver: pc.addTransceiver(new MediaStreamTrack({ kind }), { direction: 'sendonly' }) }));
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const localSdp = pc.localDescription?.sdp ?? offer.sdp ?? '';
    const sections = mediaSections(localSdp);
    const sendSections: SendSection[] = transceivers.map(({ kind }, index) => {
      const section = sections[index];
      if (!section) throw new Error('missing m-section');
      return { kind, mid: midOf(section), payloadType: payloadTypeOf(section, kind === 'audio' ? 'opus' : 'VP8') };
    });
    await this.signaling.request('connectTransport', { transportId: transport.id, dtlsParameters: { role: 'client', fingerprints: [fingerprintOf(localSdp)] } });
    await pc.setRemoteDescription({ type: 'answer', sdp: sendAnswer(transport, sendSections) });
    const cname = cnameOf(localSdp);
    for (const [index, { kind, transceiver }] of transceivers.entries()) {
      const section = sendSections[index];
      if (!section) continue;
      const codec =
        kind === 'audio'
          ? { mimeType: 'audio/opus', payloadType: section.payloadType, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] }
          : { mimeType: 'video/VP8', payloadType: section.payloadType, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] };
      const { producerId } = await this.signaling.request('produce', {
        transportId: transport.id,
        kind,
        source: kind === 'audio' ? 'mic' : 'camera',
        rtpParameters: {
          mid: section.mid,
          codecs: [codec],
          headerExtensions: kind === 'audio' ? [{ uri: AUDIO_LEVEL_URI, id: AUDIO_LEVEL_ID }] : [],
          encodings: [{ ssrc: transceiver.sender.ssrc }],
          rtcp: { cname, reducedSize: true },
        },
      });
      this.producerIds[kind] = producerId;
      this.startSending(kind, transceiver);
    }
  }

  /** Changes the level audio is sent at from the next packet on (127: silence). */
  setAudioLevel(level: number): void {
    this.audioLevel = level;
  }

  private startSending(kind: 'audio' | 'video', transceiver: RTCRtpTransceiver): void {
    let sequenceNumber = 1;
    let timestamp = 0;
    const [interval, step] = kind === 'audio' ? [20, 960] : [33, 3000];
    const timer = setInterval(() => {
      const header = new RtpHeader({ sequenceNumber, timestamp, marker: true, payloadType: 0, ssrc: transceiver.sender.ssrc });
      if (kind === 'audio') {
        header.extension = true;
        // Speech-like: talk spurts over a room-noise floor 60 dB lower in the pauses. Dominant
        // speaker detection (mediasoup's ActiveSpeakerObserver) counts only levels well above the
        // lowest it has seen from that speaker, so a constant level, or pauses of pure silence
        // (which it ignores), leave the speaker's floor at its speech level and it never takes
        // over. Voice bit set while talking.
        const audioLevel = this.audioLevel;
        const steady = this.speech === 'steady';
        const talking = audioLevel < 127 && (steady || sequenceNumber % 50 < 38);
        const level = audioLevel === 127 ? 127 : steady ? audioLevel : talking ? Math.min(126, audioLevel + Math.floor(Math.random() * 6)) : Math.min(126, audioLevel + 60);
        header.extensions = [{ id: AUDIO_LEVEL_ID, payload: Buffer.from([(talking ? 0x80 : 0) | level]) }];
      }
      sequenceNumber = (sequenceNumber + 1) & 0xffff;
      timestamp = (timestamp + step) >>> 0;
      const payload = kind === 'audio' ? Buffer.alloc(60, 0x11) : vp8KeyFramePayload(400);
      if (this.stamp) {
        const stamp = performance.timeOrigin + performance.now();
        payload.writeDoubleBE(stamp, payload.length - 8);
        this.onSent?.(kind, stamp, header.timestamp);
      }
      void transceiver.sender.sendRtp(new RtpPacket(header, payload)).catch(() => undefined);
      this.sentPackets[kind]++;
    }, interval);
    this.mediaTimers.push(timer);
  }

  /** RTP packets received so far from a participant's tracks (by kind). */
  packetsFrom(participantId: string, kind: 'audio' | 'video'): number {
    let total = 0;
    for (const entry of this.received.values()) {
      if (entry.consumer.participantId === participantId && entry.consumer.kind === kind) total += entry.packets;
    }
    return total;
  }

  consumersOf(participantId: string): ConsumerInfo[] {
    return [...this.received.values()].filter((entry) => entry.consumer.participantId === participantId).map((entry) => entry.consumer);
  }

  /** Ends the WebRTC side only (DTLS close, ICE stops) and stops sending; signaling stays open. */
  async closeMedia(): Promise<void> {
    for (const timer of this.mediaTimers) clearInterval(timer);
    this.mediaTimers = [];
    await Promise.allSettled([this.sendPc?.close(), this.recvPc?.close()]);
  }

  async close(): Promise<void> {
    for (const timer of this.mediaTimers) clearInterval(timer);
    this.mediaTimers = [];
    this.signaling.close();
    await Promise.allSettled([this.sendPc?.close(), this.recvPc?.close()]);
  }
}

export type { Permission };

/**
 * Puts `take` before a UDP socket's message listeners: a datagram it takes goes no further. One
 * that throws (a sampled packet failing SRTP authentication) was taken: dropped, as werift's own
 * listeners would have, rather than ending the process.
 */
function tapSocket(socket: Socket, take: (data: Buffer) => boolean): void {
  const listeners = socket.listeners('message') as ((data: Buffer, info: RemoteInfo) => void)[];
  socket.removeAllListeners('message');
  socket.on('message', (data: Buffer, info: RemoteInfo) => {
    try {
      if (take(data)) return;
    } catch {
      return;
    }
    for (const listener of listeners) listener.call(socket, data, info);
  });
}

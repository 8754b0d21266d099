import type { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import { assertNever, type ConsumerInfo, type ErrorCode, type RtpCapabilitiesWire, type MediaAssignment, type MediaNotification, type MediaSource, type TransportInfo } from '../wire.js';
import { createDevice } from './device.js';
import { iceOptionsFor } from './ice-policy.js';
import { MediaRequestError, MediaSignaling } from './media-signaling.js';
import { isConsumerNotification, RemoteTracks, type RemoteTrackEvents } from './remote-tracks.js';

export interface MediaSessionEvents extends RemoteTrackEvents {
  activeSpeaker(participantId: string | null): void;
  /** The node paused or closed one of our producers (host mute). */
  localPausedByServer(source: MediaSource): void;
  /** The node ended our media session for good (removed, meeting ended). */
  closedByServer(code: ErrorCode, reason: string): void;
  /** Signaling or ICE is gone: the caller should get a fresh token and start a new session. */
  lost(reason: string): void;
}

/** Camera simulcast: three layers (quarter, half, full 720p). */
const CAMERA_ENCODINGS: types.RtpEncodingParameters[] = [
  { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000, scalabilityMode: 'L1T3' },
  { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000, scalabilityMode: 'L1T3' },
  { rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_500_000, scalabilityMode: 'L1T3' },
];
/** The camera's frame rate (prejoin opens it at 30), and what a session being left sends meanwhile. */
const CAMERA_FPS = 30;
const LEAVING_CAMERA_FPS = 8;
const SCREEN_ENCODINGS: types.RtpEncodingParameters[] = [{ maxBitrate: 2_500_000 }];
const ICE_RESTART_GRACE_MS = 2_000;
const ICE_GIVE_UP_MS = 10_000;

function transportOptions(info: TransportInfo, assignment: MediaAssignment): types.TransportOptions {
  // The wire schema checked the structure; mediasoup-client validates the details.
  return {
    ...iceOptionsFor(assignment),
    id: info.id,
    iceParameters: info.iceParameters as types.IceParameters,
    iceCandidates: info.iceCandidates as types.IceCandidate[],
    dtlsParameters: info.dtlsParameters as types.DtlsParameters,
    sctpParameters: info.sctpParameters as types.SctpParameters | undefined,
  };
}

/**
 * One media session on one node: signaling socket, a send and a receive transport, our
 * producers (mic, camera, screen) and a consumer per remote track. Crash-only: on any loss the
 * owner closes it and starts a new one.
 */
export class MediaSession {
  private readonly producers = new Map<MediaSource, types.Producer>();
  /** Per producer id, whether the node was last told it is paused (it forwards nothing then). */
  private readonly pausedAtNode = new Map<string, boolean>();
  private readonly remotes: RemoteTracks;
  private closed = false;
  private iceTimers = new Map<string, number>();
  availableBitrate: number | null = null;

  private constructor(
    readonly assignment: MediaAssignment,
    private readonly signaling: MediaSignaling,
    private readonly device: Device,
    /** Null for a webinar attendee, who may only receive (the node refuses them a send transport). */
    private readonly sendTransport: types.Transport | null,
    private readonly recvTransport: types.Transport,
    private readonly events: MediaSessionEvents,
  ) {
    this.remotes = new RemoteTracks(recvTransport, signaling, events);
  }

  static async start(assignment: MediaAssignment, events: MediaSessionEvents, mark: (milestone: string) => void = () => undefined, options: { publish: boolean } = { publish: true }): Promise<MediaSession> {
    let session: MediaSession | null = null;
    const early: MediaNotification[] = [];
    const signaling = await MediaSignaling.connect(assignment.signalingUrl, assignment.token, {
      notification: (notification) => (session ? session.onNotification(notification) : early.push(notification)),
      close: (code, reason) => (session ? session.onSignalingClosed(code, reason) : undefined),
    });
    mark('mediaSocketOpen');
    try {
      // One round trip: capabilities and both transports are asked for at once.
      const [{ rtpCapabilities }, recvInfo, sendInfo, device] = await Promise.all([
        signaling.request('getRouterRtpCapabilities', {}),
        signaling.request('createTransport', { direction: 'recv' }),
        options.publish ? signaling.request('createTransport', { direction: 'send' }) : null,
        createDevice(),
      ]);
      mark('mediaTransportsCreated');
      await device.load({ routerRtpCapabilities: rtpCapabilities as types.RtpCapabilities });
      mark('mediaDeviceLoaded');
      const recvTransport = device.createRecvTransport(transportOptions(recvInfo, assignment));
      const sendTransport = sendInfo ? device.createSendTransport(transportOptions(sendInfo, assignment)) : null;
      session = new MediaSession(assignment, signaling, device, sendTransport, recvTransport, events);
      session.wireTransport(recvTransport);
      if (sendTransport) session.wireTransport(sendTransport);
      for (const notification of early.splice(0)) session.onNotification(notification);
      await signaling.request('join', { rtpCapabilities: device.rtpCapabilities as RtpCapabilitiesWire });
      mark('mediaJoined');
      return session;
    } catch (error) {
      signaling.close();
      throw error;
    }
  }

  get canProduceVideo(): boolean {
    return this.device.canProduce('video');
  }

  hasProducer(source: MediaSource): boolean {
    return this.producers.has(source);
  }

  /** Whether the node forwards nothing of `source` (paused there, or not produced). */
  isPausedAtNode(source: MediaSource): boolean {
    const producer = this.producers.get(source);
    return !producer || this.pausedAtNode.get(producer.id) !== false;
  }

  /** A paused producer starts paused at the node too: not one packet of it is forwarded. */
  async produce(source: MediaSource, track: MediaStreamTrack, paused = false): Promise<void> {
    if (this.closed) return;
    if (!this.sendTransport) throw new Error('this session only receives: attendees do not send');
    await this.closeProducer(source);
    const producer = await this.sendTransport.produce({
      track,
      stopTracks: false,
      encodings: source === 'camera' ? CAMERA_ENCODINGS : source === 'screen' ? SCREEN_ENCODINGS : undefined,
      // Start the send estimate above the three camera layers (2.15 Mbps): from 1 Mbps Chrome starts the top layer, drops it while ramping, and a first joiner's consumer aimed at it waits ~1 s (npm run bench:ttff -- --diagnose).
      codecOptions: source === 'mic' ? { opusStereo: false, opusDtx: true, opusFec: true } : { videoGoogleStartBitrate: 2500 },
      appData: { source, paused },
    });
    if (paused) producer.pause();
    this.pausedAtNode.set(producer.id, paused);
    this.producers.set(source, producer);
  }

  /** Pauses or resumes locally and at the node; tells the node whenever it was told otherwise. */
  async setPaused(source: MediaSource, paused: boolean): Promise<void> {
    const producer = this.producers.get(source);
    if (!producer) return;
    if (producer.paused !== paused) {
      if (paused) producer.pause();
      else producer.resume();
    }
    if (this.pausedAtNode.get(producer.id) === paused) return;
    this.pausedAtNode.set(producer.id, paused);
    await this.signaling.request(paused ? 'pauseProducer' : 'resumeProducer', { producerId: producer.id }).catch((error: unknown) => {
      if (!paused && error instanceof MediaRequestError && error.code === 'PERMISSION_DENIED') {
        // The host holds this mute (unmuting is off): the node forwards nothing, so neither do we,
        // and the person's choice goes back to off — the button must not say "live".
        producer.pause();
        this.pausedAtNode.set(producer.id, true);
        this.events.localPausedByServer(source);
      } else {
        this.pausedAtNode.delete(producer.id); // unknown now: the next call tells the node again
      }
      throw error;
    });
  }

  /**
   * Encodes the camera at a few frames a second on every layer (true), or at the camera's rate
   * again (false): a session being left during a move costs the page a fraction of an encoder
   * while the new session comes up. Every layer keeps flowing, so no viewer's consumer has to
   * fall back to another layer and wait for its key frame (stopping layers did: 1.6–2.7 s gaps).
   */
  async slowCamera(on: boolean): Promise<void> {
    const producer = this.producers.get('camera');
    if (!producer || producer.closed) return;
    await producer.setRtpEncodingParameters({ maxFramerate: on ? LEAVING_CAMERA_FPS : CAMERA_FPS });
  }

  async replaceTrack(source: MediaSource, track: MediaStreamTrack): Promise<void> {
    const producer = this.producers.get(source);
    if (producer) await producer.replaceTrack({ track });
  }

  async closeProducer(source: MediaSource): Promise<void> {
    const producer = this.producers.get(source);
    if (!producer) return;
    this.producers.delete(source);
    this.pausedAtNode.delete(producer.id);
    producer.close();
    await this.signaling.request('closeProducer', { producerId: producer.id }).catch(() => undefined);
  }

  /** Ask the node for a lower simulcast layer when a tile is small (saves bandwidth and CPU). */
  preferLayer(consumerId: string, spatialLayer: number): void {
    void this.signaling.request('setConsumerPreferredLayers', { consumerId, spatialLayer }).catch(() => undefined);
  }

  /** Pauses or resumes a remote track at the node for the page (a camera's tile left or came onto the grid page). */
  setConsumerPaused(consumerId: string, paused: boolean): void {
    // Refused only when the consumer closed meanwhile (its sender left): nothing to undo.
    void this.signaling.request(paused ? 'pauseConsumer' : 'resumeConsumer', { consumerId }).catch(() => undefined);
  }

  /** The participants this viewer pinned: the node forwards their audio, loud or not (the list replaces the last one). */
  setPinned(participantIds: readonly string[]): Promise<void> {
    return this.signaling.request('setPinned', { participantIds: [...participantIds] }).then(() => undefined);
  }

  /** Caps what the node sends us (bps, 0: no cap): low bandwidth mode. */
  setReceiveBitrate(maxBitrate: number): Promise<void> {
    return this.signaling.request('setReceiveBitrate', { maxBitrate }).then(() => undefined);
  }

  /** Per producer: its stats, and whether it sends (paused here: the track is off; at the node: nothing forwarded). */
  producerStats(): Promise<Array<{ source: MediaSource; paused: boolean; pausedAtNode: boolean; report: RTCStatsReport }>> {
    return Promise.all(
      [...this.producers].map(async ([source, producer]) => ({ source, paused: producer.paused, pausedAtNode: this.isPausedAtNode(source), report: await producer.getStats() })),
    );
  }

  transportStats(): Promise<RTCStatsReport> {
    return this.recvTransport.getStats();
  }

  get transportStates(): { send: string; recv: string } {
    return { send: this.sendTransport?.connectionState ?? 'new', recv: this.recvTransport.connectionState };
  }

  /**
   * A move switched away from this session: it stops receiving (the node is asked to stop
   * forwarding) but keeps sending, for the people still watching us on this node until they switch.
   * The receive transport stays open: the node lets a participant go when any of its transports closes.
   */
  stopReceiving(): void {
    if (this.closed) return;
    this.remotes.pauseAndClose();
  }

  close(sayGoodbye = true): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.iceTimers.values()) clearTimeout(timer);
    if (sayGoodbye && this.signaling.open) void this.signaling.request('leave', {}).catch(() => undefined);
    this.remotes.close();
    this.sendTransport?.close();
    this.recvTransport.close();
    // Give the leave request a moment to go out before the socket closes.
    setTimeout(() => this.signaling.close(), sayGoodbye ? 200 : 0);
  }

  private wireTransport(transport: types.Transport): void {
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.signaling
        .request('connectTransport', { transportId: transport.id, dtlsParameters: dtlsParameters as TransportInfo['dtlsParameters'] })
        .then(() => callback(), errback);
    });
    if (transport.direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
        const source = appData.source as MediaSource;
        this.signaling
          .request('produce', {
            transportId: transport.id,
            kind,
            source,
            rtpParameters: rtpParameters as ConsumerInfo['rtpParameters'],
            paused: appData.paused === true,
          })
          .then(({ producerId }) => callback({ id: producerId }), errback);
      });
    }
    transport.on('connectionstatechange', (state) => this.onIceState(transport, state));
  }

  /** ICE dropped: restart ICE after a short grace; give the whole session up if it stays down. */
  private onIceState(transport: types.Transport, state: types.ConnectionState): void {
    if (this.closed) return;
    const existing = this.iceTimers.get(transport.id);
    if (state === 'connected' || state === 'new' || state === 'connecting') {
      if (existing !== undefined && state === 'connected') {
        clearTimeout(existing);
        this.iceTimers.delete(transport.id);
      }
      return;
    }
    if ((state === 'disconnected' || state === 'failed') && existing === undefined) {
      const restart = () => {
        if (this.closed) return;
        this.signaling
          .request('restartIce', { transportId: transport.id })
          .then(({ iceParameters }) => transport.restartIce({ iceParameters: iceParameters as types.IceParameters }))
          .catch(() => this.events.lost('ICE restart failed'));
      };
      const graceTimer = window.setTimeout(restart, state === 'failed' ? 0 : ICE_RESTART_GRACE_MS);
      this.iceTimers.set(
        transport.id,
        window.setTimeout(() => {
          clearTimeout(graceTimer);
          if (!this.closed && transport.connectionState !== 'connected') this.events.lost('ICE did not come back');
        }, ICE_GIVE_UP_MS),
      );
    }
  }

  private onSignalingClosed(code: number, reason: string): void {
    if (this.closed) return;
    this.events.lost(`media signaling closed (${code}${reason ? `: ${reason}` : ''})`);
  }

  private onNotification(notification: MediaNotification): void {
    if (this.closed) return;
    if (isConsumerNotification(notification)) {
      this.remotes.onNotification(notification);
      return;
    }
    switch (notification.notification) {
      case 'bandwidthEstimate':
        this.availableBitrate = notification.data.availableBitrate;
        return;
      case 'activeSpeaker':
        this.events.activeSpeaker(notification.data.participantId);
        return;
      case 'producerPaused':
      case 'producerClosed': {
        for (const [source, producer] of this.producers) {
          if (producer.id !== notification.data.producerId) continue;
          if (notification.notification === 'producerClosed') {
            producer.close();
            this.producers.delete(source);
          } else {
            producer.pause();
            this.pausedAtNode.set(producer.id, true);
          }
          this.events.localPausedByServer(source);
        }
        return;
      }
      case 'closed':
        // The node is done with this session: its transports close now. Marked closed without
        // that, a later close() did nothing, and a drained node's goodbye to a page's retiring
        // session left its send transport encoding the camera on (one more per drain: moves
        // slowed round after round in npm run bench:failover).
        this.close(false);
        this.events.closedByServer(notification.data.code, notification.data.reason);
        return;
      default:
        assertNever(notification, 'media notification');
    }
  }
}

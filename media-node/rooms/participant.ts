import type { types } from 'mediasoup';
import { AppError, type MediaKind, type MediaSource, type Permission } from '../../schema/wire/index.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { AudioSelectionOptions } from './audio-selection.js';
import { ConsumerGate } from './consumer-gate.js';
import { keyFrameRequestDelay } from './key-frame-requests.js';
import { LayerStart } from './layer-start.js';
import { assertOpen, keepIfOwnersOpen } from './owners-open.js';
import type { ParticipantIdentity, ParticipantSink, RoomProducer, RoomRouter } from './types.js';

export interface ParticipantOptions {
  initialOutgoingBitrate: number;
  maxIncomingBitrate: number;
  iceDisconnectTimeoutMs: number;
  /** Top-N audio (the room's); default DEFAULT_AUDIO_SELECTION. */
  audioSelection?: AudioSelectionOptions;
}

/** Top-N audio: whether a listener (by its own audio producer, if any) hears a producer. */
export type AudibleCheck = (producerId: string, listenerAudioId: string | undefined) => boolean;

type Direction = 'send' | 'recv';

/** Offers negotiated together at most (consumeAll). */
export const OFFER_BURST = 24;

const SOURCE_KIND: Record<MediaSource, MediaKind> = { mic: 'audio', camera: 'video', screen: 'video' };

/**
 * One participant's media on this node: its transports, producers and consumers on the router
 * it was placed on. Closing it closes every mediasoup object it owns.
 */
export class Participant {
  readonly transports = new Map<string, { transport: types.WebRtcTransport; direction: Direction }>();
  readonly producers = new Map<string, { producer: types.Producer; source: MediaSource }>();
  readonly consumers = new Map<string, types.Consumer>();
  /** Every consumer's pause wishes (client and node), with whose audio it carries. */
  private readonly gates = new Map<string, { gate: ConsumerGate; producerId: string; participantId: string; kind: MediaKind }>();
  /** Simulcast consumers' layer wishes, held back while a young producer's consumer starts low. */
  private readonly layerStarts = new Map<string, LayerStart>();
  /** Participants whose audio this one always hears, loud or not. */
  private pinned = new Set<string>();
  rtpCapabilities: types.RtpCapabilities | undefined;
  closed = false;
  /** Producer ids this participant consumes or is about to (guards against double consumers). */
  private readonly consumedProducerIds = new Set<string>();
  private readonly iceTimers = new Map<string, NodeJS.Timeout>();
  /** Receive-bitrate cap the participant asked for (bps, 0: none); applied to new receive transports too. */
  private receiveBitrateCap = 0;
  /** Permissions the room still allows this session (null: all its token gave). */
  private cap: readonly Permission[] | null = null;

  constructor(
    readonly identity: ParticipantIdentity,
    readonly place: RoomRouter,
    readonly sink: ParticipantSink,
    private readonly options: ParticipantOptions,
    private readonly metrics: Metrics,
    readonly log: Log,
    /** Called once when a transport failure or timeout means the participant is gone. */
    private readonly onFailure: (reason: string) => void,
    /** Top-N audio: the room's choice of who is heard. */
    private readonly isAudible: AudibleCheck = () => true,
  ) {}

  get id(): string {
    return this.identity.participantId;
  }

  can(permission: Permission): boolean {
    return this.identity.permissions.includes(permission) && (this.cap === null || this.cap.includes(permission));
  }

  /**
   * The room's word on what this participant may do (a webinar speaker sent back to the audience,
   * or a session opened with a token older than that): from now on it may do only what both its
   * token and `cap` allow, and its producers that need more close (everyone consuming them hears
   * `consumerClosed`). Answers how many closed.
   */
  limitTo(cap: readonly Permission[]): number {
    this.cap = cap;
    let closed = 0;
    for (const { producer, source } of [...this.producers.values()]) {
      if (this.can(source === 'screen' ? 'screen' : 'publish')) continue;
      producer.close();
      closed++;
    }
    return closed;
  }

  get recvTransport(): types.WebRtcTransport | undefined {
    for (const entry of this.transports.values()) if (entry.direction === 'recv') return entry.transport;
    return undefined;
  }

  async createTransport(direction: Direction, options: { forceTcp?: boolean; sctp?: boolean }): Promise<types.WebRtcTransport> {
    if (direction === 'send' && !this.can('publish') && !this.can('screen')) {
      throw new AppError('PERMISSION_DENIED', 'this participant may not publish');
    }
    if (direction === 'recv' && !this.can('subscribe')) throw new AppError('PERMISSION_DENIED', 'this participant may not subscribe');
    const existing = [...this.transports.values()].filter((entry) => entry.direction === direction);
    if (existing.length > 0) throw new AppError('CONFLICT', `a ${direction} transport exists already`);
    const router = this.place.router;
    const created = await router.createWebRtcTransport({
      webRtcServer: this.place.slot.webRtcServer,
      enableUdp: options.forceTcp !== true,
      enableTcp: true,
      preferUdp: true,
      enableSctp: options.sctp === true,
      initialAvailableOutgoingBitrate: this.options.initialOutgoingBitrate,
      appData: { participantId: this.id, direction },
    });
    const transport = keepIfOwnersOpen(created, [this, router], 'the participant');
    this.transports.set(transport.id, { transport, direction });
    transport.observer.once('close', () => {
      this.transports.delete(transport.id);
      this.clearIceTimer(transport.id);
    });
    if (direction === 'send') await transport.setMaxIncomingBitrate(this.options.maxIncomingBitrate).catch(() => undefined);
    if (direction === 'recv' && this.receiveBitrateCap > 0) await transport.setMaxOutgoingBitrate(this.receiveBitrateCap).catch(() => undefined);
    // Leaving closed it (it is in `transports` already); the client must not be handed it.
    assertOpen([this, transport], 'the participant');
    this.watchTransport(transport, direction);
    return transport;
  }

  /**
   * Caps what the node sends this participant (bps, 0: no cap). mediasoup's estimate for the
   * receive transport is clamped to it, and it re-spreads the bitrate over the consumers, so
   * simulcast layers drop (and climb back when the cap is lifted).
   */
  async setReceiveBitrate(maxBitrate: number): Promise<void> {
    this.receiveBitrateCap = maxBitrate;
    for (const { transport, direction } of [...this.transports.values()]) {
      if (direction !== 'recv' || transport.closed) continue;
      // A transport closing meanwhile (the participant left) has nothing left to cap.
      await transport.setMaxOutgoingBitrate(maxBitrate).catch((error: unknown) => {
        if (!transport.closed) throw error;
      });
    }
  }

  private watchTransport(transport: types.WebRtcTransport, direction: Direction): void {
    transport.on('icestatechange', (state) => {
      if (state === 'disconnected') {
        this.clearIceTimer(transport.id);
        // A network change may recover (or the client restarts ICE); give it time first.
        this.iceTimers.set(
          transport.id,
          setTimeout(() => {
            this.metrics.iceFailures.inc();
            this.onFailure(`ICE disconnected for ${this.options.iceDisconnectTimeoutMs} ms`);
          }, this.options.iceDisconnectTimeoutMs),
        );
      } else if (state === 'connected' || state === 'completed') {
        this.clearIceTimer(transport.id);
      } else if (state === 'closed') {
        this.clearIceTimer(transport.id);
      }
    });
    transport.on('dtlsstatechange', (state) => {
      if (state === 'failed' || state === 'closed') {
        if (state === 'failed') this.metrics.dtlsFailures.inc();
        this.onFailure(`DTLS ${state}`);
      }
    });
    if (direction === 'recv') {
      // Expose mediasoup's sender-side bandwidth estimate; mediasoup itself lowers simulcast
      // layers of this transport's consumers when the estimate drops.
      void transport.enableTraceEvent(['bwe']).catch(() => undefined);
      transport.on('trace', (trace) => {
        if (trace.type !== 'bwe') return;
        const info = trace.info as { availableBitrate?: unknown };
        if (typeof info.availableBitrate !== 'number') return;
        this.sink.notify({ notification: 'bandwidthEstimate', data: { transportId: transport.id, availableBitrate: info.availableBitrate } });
      });
    }
  }

  private clearIceTimer(transportId: string): void {
    const timer = this.iceTimers.get(transportId);
    if (timer) clearTimeout(timer);
    this.iceTimers.delete(transportId);
  }

  transport(transportId: string): types.WebRtcTransport {
    const entry = this.transports.get(transportId);
    if (!entry) throw new AppError('NOT_FOUND', 'no such transport');
    return entry.transport;
  }

  async produce(input: {
    transportId: string;
    kind: MediaKind;
    source: MediaSource;
    rtpParameters: types.RtpParameters;
    paused?: boolean;
  }): Promise<types.Producer> {
    const needed = input.source === 'screen' ? 'screen' : 'publish';
    if (!this.can(needed)) throw new AppError('PERMISSION_DENIED', `producing ${input.source} needs the '${needed}' permission`);
    if (SOURCE_KIND[input.source] !== input.kind) throw new AppError('VALIDATION_FAILED', `${input.source} must be ${SOURCE_KIND[input.source]}`);
    const entry = this.transports.get(input.transportId);
    if (!entry || entry.direction !== 'send') throw new AppError('NOT_FOUND', 'no such send transport');
    for (const existing of this.producers.values()) {
      if (existing.source === input.source) throw new AppError('CONFLICT', `a ${input.source} producer exists already`);
    }
    const created = await entry.transport.produce({
      kind: input.kind,
      rtpParameters: input.rtpParameters,
      paused: input.paused === true,
      keyFrameRequestDelay: keyFrameRequestDelay(input.kind),
      appData: { participantId: this.id, source: input.source },
    });
    const producer = keepIfOwnersOpen(created, [this, entry.transport], 'the participant or its transport');
    // While the worker made it, the room may have taken the permission away (limitTo closes only
    // the producers it finds), or another produce of this source finished first.
    if (!this.can(needed) || [...this.producers.values()].some((existing) => existing.source === input.source)) {
      producer.close();
      if (!this.can(needed)) throw new AppError('PERMISSION_DENIED', `producing ${input.source} needs the '${needed}' permission`);
      throw new AppError('CONFLICT', `a ${input.source} producer exists already`);
    }
    this.producers.set(producer.id, { producer, source: input.source });
    producer.observer.once('close', () => this.producers.delete(producer.id));
    return producer;
  }

  producer(producerId: string): types.Producer {
    const entry = this.producers.get(producerId);
    if (!entry) throw new AppError('NOT_FOUND', 'no such producer');
    return entry.producer;
  }

  consumer(consumerId: string): types.Consumer {
    const consumer = this.consumers.get(consumerId);
    if (!consumer) throw new AppError('NOT_FOUND', 'no such consumer');
    return consumer;
  }

  /** Creates a (paused) consumer of a room producer, if this participant can and should receive it, and offers it. */
  async consume(roomProducer: RoomProducer): Promise<void> {
    const created = await this.createConsumer(roomProducer);
    if (created) this.offer([created]);
  }

  /**
   * Consumers of many producers at once (joining a room that has media): created together and
   * offered in one burst, every offer but the last saying more follow, so the browser negotiates
   * them in one round. Offered one by one, the first was negotiated alone and the rest waited for
   * it: a later joiner's first picture came one renegotiation late (npm run bench:ttff -- --marks).
   */
  async consumeAll(roomProducers: readonly RoomProducer[]): Promise<void> {
    // A large room's in bursts of OFFER_BURST: the first pictures need not wait for every consumer.
    for (let start = 0; start < roomProducers.length; start += OFFER_BURST) {
      const results = await Promise.allSettled(roomProducers.slice(start, start + OFFER_BURST).map((roomProducer) => this.createConsumer(roomProducer)));
      for (const result of results) if (result.status === 'rejected') this.log.warn('consume failed', { err: String(result.reason) });
      this.offer(results.flatMap((result) => (result.status === 'fulfilled' && result.value ? [result.value] : [])));
    }
  }

  private async createConsumer(roomProducer: RoomProducer): Promise<{ consumer: types.Consumer; roomProducer: RoomProducer } | null> {
    const transport = this.recvTransport;
    const capabilities = this.rtpCapabilities;
    if (this.closed || !transport || !capabilities || roomProducer.participantId === this.id) return null;
    if (this.consumedProducerIds.has(roomProducer.id)) return null;
    const local = roomProducer.copies.get(this.place.router.id);
    if (!local || local.closed) return null;
    if (!this.place.router.canConsume({ producerId: local.id, rtpCapabilities: capabilities })) {
      this.log.warn('cannot consume producer with these capabilities', { producerId: roomProducer.id });
      return null;
    }
    this.consumedProducerIds.add(roomProducer.id);
    let consumer: types.Consumer;
    try {
      const created = await transport.consume({
        producerId: local.id,
        rtpCapabilities: capabilities,
        paused: true,
        appData: { participantId: this.id, producerId: roomProducer.id },
      });
      // Leaving (or the producer closing) while the worker created it: close it, offer nothing.
      consumer = keepIfOwnersOpen(created, [this, transport, local], 'the participant, its transport or the producer');
    } catch (error) {
      this.consumedProducerIds.delete(roomProducer.id);
      if (this.closed || transport.closed || local.closed) return null;
      throw error;
    }
    this.consumers.set(consumer.id, consumer);
    const audible = roomProducer.kind !== 'audio' || this.audible(roomProducer.id, roomProducer.participantId);
    this.gates.set(consumer.id, { gate: new ConsumerGate(consumer, !audible), producerId: roomProducer.id, participantId: roomProducer.participantId, kind: roomProducer.kind });
    consumer.observer.once('close', () => {
      this.consumers.delete(consumer.id);
      this.gates.delete(consumer.id);
      this.layerStarts.delete(consumer.id);
      this.consumedProducerIds.delete(roomProducer.id);
    });
    const layerStart = new LayerStart(consumer);
    this.layerStarts.set(consumer.id, layerStart);
    await layerStart.startLow(Date.now() - roomProducer.publishedAt);
    return consumer.closed ? null : { consumer, roomProducer };
  }

  /** Tells the client of consumers in one burst of frames (see consumeAll); any closed meanwhile are left out. */
  private offer(created: ReadonlyArray<{ consumer: types.Consumer; roomProducer: RoomProducer }>): void {
    const open = created.filter(({ consumer }) => !consumer.closed);
    open.forEach(({ consumer, roomProducer }, index) => {
      consumer.on('producerclose', () => this.sink.notify({ notification: 'consumerClosed', data: { consumerId: consumer.id } }));
      consumer.on('producerpause', () => this.sink.notify({ notification: 'consumerPaused', data: { consumerId: consumer.id } }));
      consumer.on('producerresume', () => this.sink.notify({ notification: 'consumerResumed', data: { consumerId: consumer.id } }));
      consumer.on('layerschange', (layers) =>
        this.sink.notify({
          notification: 'consumerLayersChanged',
          data: { consumerId: consumer.id, spatialLayer: layers?.spatialLayer ?? null, temporalLayer: layers?.temporalLayer ?? null },
        }),
      );
      this.sink.notify({
        notification: 'newConsumer',
        data: {
          consumerId: consumer.id,
          producerId: roomProducer.id,
          participantId: roomProducer.participantId,
          displayName: roomProducer.displayName,
          kind: roomProducer.kind,
          source: roomProducer.source,
          rtpParameters: consumer.rtpParameters,
          producerPaused: consumer.producerPaused,
          ...(index < open.length - 1 ? { more: true } : {}),
        },
      });
    });
  }

  /** The client pauses or resumes a consumer; the node's top-N pause still holds it when it applies. */
  async setConsumerPaused(consumerId: string, paused: boolean): Promise<void> {
    const entry = this.gates.get(consumerId);
    if (!entry) throw new AppError('NOT_FOUND', 'no such consumer');
    await entry.gate.setClientPaused(paused);
  }

  /** The client's layer wish (tile size); a consumer still starting low takes it once video flows. */
  async setConsumerPreferredLayers(consumerId: string, layers: types.ConsumerLayers): Promise<void> {
    const start = this.layerStarts.get(consumerId);
    if (!start) throw new AppError('NOT_FOUND', 'no such consumer');
    await start.prefer(layers);
  }

  /** Pins replace the previous ones: these participants' audio is heard, loud or not. */
  async setPinned(participantIds: readonly string[]): Promise<void> {
    this.pinned = new Set(participantIds);
    await this.applyAudioSelection();
  }

  /** Pauses audio consumers of speakers neither loud nor pinned, resumes the others (the room's selection changed). */
  async applyAudioSelection(): Promise<void> {
    const changes: Promise<void>[] = [];
    for (const { gate, producerId, participantId, kind } of this.gates.values()) {
      if (kind === 'audio') changes.push(gate.setNodePaused(!this.audible(producerId, participantId)));
    }
    await Promise.all(changes);
  }

  private audible(producerId: string, participantId: string): boolean {
    if (this.pinned.has(participantId)) return true;
    let ownAudio: string | undefined;
    for (const { producer } of this.producers.values()) if (producer.kind === 'audio' && !producer.closed) ownAudio = producer.id;
    return this.isAudible(producerId, ownAudio);
  }

  /** Server-side pause (host mute): pauses producers of the kind and tells the participant. */
  async mute(kind: MediaKind | undefined, reason: string): Promise<number> {
    let muted = 0;
    for (const { producer } of [...this.producers.values()]) {
      if (kind !== undefined && producer.kind !== kind) continue;
      // Paused or not: `paused` may be stale while the participant's resume is in flight, and the
      // worker applies requests in order, so this pause lands after it.
      await producer.pause().catch((error: unknown) => {
        // Closed meanwhile (the worker may say "not found" before the close reaches us): nothing to mute.
        if (!producer.closed && !(error instanceof Error && /not found/i.test(error.message))) throw error;
      });
      if (producer.closed) continue;
      muted++;
      this.sink.notify({ notification: 'producerPaused', data: { producerId: producer.id, reason } });
    }
    return muted;
  }

  /** Closes every transport (and so every producer and consumer) of this participant. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.iceTimers.values()) clearTimeout(timer);
    this.iceTimers.clear();
    for (const { transport } of [...this.transports.values()]) transport.close();
    this.transports.clear();
  }
}

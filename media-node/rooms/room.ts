import type { types } from 'mediasoup';
import { EventEmitter } from 'node:events';
import { AppError, type MediaKind, type MediaSource } from '../../schema/wire/index.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import { within } from '../within.js';
import { ROUTER_MEDIA_CODECS } from '../workers/media-codecs.js';
import { udpBuffers, type WorkerPool, type WorkerSlot } from '../workers/worker-pool.js';
import { AudioSelection, DEFAULT_AUDIO_SELECTION } from './audio-selection.js';
import type { HostMutes } from './host-mutes.js';
import { Participant, type ParticipantOptions } from './participant.js';
import { SerialQueue } from './serial-queue.js';
import type { ParticipantIdentity, ParticipantSink, RoomProducer, RoomRouter } from './types.js';

interface RoomEvents {
  /** A producer is available on `room.router` (the recorder's seam). */
  producerAdded: [RoomProducer];
  producerRemoved: [RoomProducer];
  participantLeft: [participantId: string, reason: string];
  /** A participant the host had muted made that kind audible again (the policy let them). */
  participantUnmuted: [participantId: string, kind: MediaKind];
  closed: [];
}

/**
 * How long people here wait for a new producer while the steps of Room.prepareOffers run. A
 * recording's warm capture takes tens of ms, more on a loaded box; a cold one (no warm capture
 * left) can take seconds, and the room does not keep its people waiting for that.
 */
export const OFFER_STEPS_LIMIT_MS = 750;

/**
 * One meeting on this node. Its first router (`router`) lives on the least-loaded worker; when
 * that worker's consumer budget is spent, newcomers are placed on a router on another worker and
 * every producer is piped to every router, so everyone still receives everyone.
 */
export class Room extends EventEmitter<RoomEvents> {
  readonly routers: RoomRouter[] = [];
  readonly participants = new Map<string, Participant>();
  private readonly producersById = new Map<string, RoomProducer>();
  private readonly queue = new SerialQueue();
  private activeSpeaker: types.ActiveSpeakerObserver | undefined;
  private audioSelection: AudioSelection | undefined;
  closed = false;
  /** Holds taken by recordings of this room (hold). */
  private holds = 0;
  /** Cascade pipes open to other nodes of the meeting (pipeOpened): the meeting goes on there. */
  private pipes = 0;
  /** Someone joined here once: until then the room exists only for a recording (closeIfDone). */
  private hadParticipant = false;
  /** Work done on a new producer before anyone here is offered it (Room.prepareOffers). */
  private readonly offerSteps = new Set<(producer: RoomProducer, offeredBy: number) => Promise<void>>();

  private constructor(
    readonly meetingId: string,
    private readonly pool: WorkerPool,
    private readonly participantOptions: ParticipantOptions,
    private readonly metrics: Metrics,
    readonly log: Log,
    /** The node's host mutes and unmute policies (they outlive this room). */
    readonly hostMutes: HostMutes,
  ) {
    super();
  }

  static async create(
    meetingId: string,
    pool: WorkerPool,
    participantOptions: ParticipantOptions,
    metrics: Metrics,
    log: Log,
    hostMutes: HostMutes,
  ): Promise<Room> {
    const room = new Room(meetingId, pool, participantOptions, metrics, log.child({ meetingId }), hostMutes);
    const slot = pool.leastLoaded();
    if (!slot) throw new AppError('NO_MEDIA_CAPACITY', 'no live media worker');
    const primary = await room.addRouter(slot);
    room.activeSpeaker = await primary.router.createActiveSpeakerObserver({ interval: 300 });
    room.activeSpeaker.on('dominantspeaker', ({ producer }) => {
      const speaker = room.producersById.get(producer.id);
      room.broadcast({ notification: 'activeSpeaker', data: { participantId: speaker?.participantId ?? null } });
    });
    room.audioSelection = await AudioSelection.create(primary.router, participantOptions.audioSelection ?? DEFAULT_AUDIO_SELECTION, () =>
      room.applyAudioSelection(),
    );
    room.log.info('room opened', { workerPid: slot.worker.pid });
    return room;
  }

  /** The room's first router: every producer of the meeting is available here. */
  get router(): types.Router {
    const primary = this.routers[0];
    if (!primary) throw new AppError('MEETING_ENDED', 'room is closed');
    return primary.router;
  }

  /** Producers as they exist on `router` (origin or piped copy). */
  *producers(): IterableIterator<RoomProducer & { producer: types.Producer }> {
    const routerId = this.router.id;
    for (const roomProducer of this.producersById.values()) {
      const producer = roomProducer.copies.get(routerId);
      if (producer && !producer.closed) yield { ...roomProducer, producer };
    }
  }

  get producerCount(): number {
    return this.producersById.size;
  }

  private async addRouter(slot: WorkerSlot): Promise<RoomRouter> {
    const router = await slot.worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS, appData: { meetingId: this.meetingId } });
    if (this.closed) {
      router.close();
      throw new AppError('MEETING_ENDED', 'room is closed');
    }
    const place: RoomRouter = { slot, router };
    this.routers.push(place);
    router.observer.once('close', () => {
      const index = this.routers.indexOf(place);
      if (index >= 0) this.routers.splice(index, 1);
      for (const roomProducer of this.producersById.values()) roomProducer.copies.delete(router.id);
    });
    // A router joining a running meeting receives every existing producer.
    for (const roomProducer of this.producersById.values()) await this.pipe(roomProducer, place);
    return place;
  }

  private async pipe(roomProducer: RoomProducer, to: RoomRouter): Promise<void> {
    if (roomProducer.copies.has(to.router.id) || roomProducer.origin.closed || to.router.closed) return;
    // Routers of one room sit on different workers, so the piped copy can keep the producer id.
    const { pipeProducer } = await roomProducer.originRouter.pipeToRouter({
      producerId: roomProducer.id,
      router: to.router,
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      enableSctp: false,
    });
    if (!pipeProducer) return;
    if (to.router.closed || roomProducer.origin.closed) {
      // Closed while piping: mediasoup handed back a copy nothing would close. Closing the pipe
      // producer closes its pipe consumer on the origin router too.
      pipeProducer.close();
      return;
    }
    roomProducer.copies.set(to.router.id, pipeProducer);
    pipeProducer.observer.once('close', () => {
      if (roomProducer.copies.get(to.router.id) === pipeProducer) roomProducer.copies.delete(to.router.id);
    });
  }

  /** Picks (or opens) the router for a newcomer: the first with consumer headroom, else a new worker. */
  private async placeNewcomer(): Promise<RoomRouter> {
    const expectedConsumers = this.producersById.size;
    const withRoom = this.routers.find((place) => this.pool.hasHeadroom(place.slot, expectedConsumers));
    if (withRoom) return withRoom;
    const used = new Set(this.routers.map((place) => place.slot));
    const fresh = this.pool.leastLoaded(used);
    if (fresh) {
      this.log.info('meeting outgrew its worker: adding a router', { workerPid: fresh.worker.pid, routers: this.routers.length + 1 });
      return this.addRouter(fresh);
    }
    // Every worker already hosts this room: use the least loaded of them.
    const fallback = [...this.routers].sort((a, b) => a.slot.counts.consumers - b.slot.counts.consumers)[0];
    if (!fallback) throw new AppError('MEETING_ENDED', 'room is closed');
    return fallback;
  }

  /** Adds a participant (replacing one with the same id, which is told CONFLICT: close code REPLACED). */
  async join(identity: ParticipantIdentity, sink: ParticipantSink): Promise<Participant> {
    return this.queue.run(async () => {
      if (this.closed) throw new AppError('MEETING_ENDED', 'room is closed');
      const previous = this.participants.get(identity.participantId);
      if (previous) this.removeParticipant(previous, 'replaced by a newer connection', 'CONFLICT', { closeIfEmpty: false });
      let place = await this.placeNewcomer();
      // An extra router closes when its last participant leaves, which may happen meanwhile.
      if (place.router.closed && !this.closed) place = await this.placeNewcomer();
      if (this.closed || place.router.closed) throw new AppError('MEETING_ENDED', 'room is closed');
      const log = this.log.child({ participantId: identity.participantId });
      const participant: Participant = new Participant(
        identity,
        place,
        sink,
        this.participantOptions,
        this.metrics,
        log,
        (reason) => this.removeParticipant(participant, reason, 'MEDIA_ERROR'),
        (producerId, listenerAudioId) => this.audioSelection?.audible(producerId, listenerAudioId) ?? true,
      );
      this.participants.set(identity.participantId, participant);
      this.hadParticipant = true;
      log.info('participant joined', { workerPid: place.slot.worker.pid, routerId: place.router.id });
      return participant;
    });
  }

  /** Makes a new producer available everywhere in the room and creates consumers for everyone. */
  async publish(participant: Participant, producer: types.Producer, source: MediaSource): Promise<void> {
    const roomProducer: RoomProducer = {
      id: producer.id,
      participantId: participant.id,
      displayName: participant.identity.displayName,
      kind: producer.kind as MediaKind,
      source,
      origin: producer,
      originRouter: participant.place.router,
      copies: new Map([[participant.place.router.id, producer]]),
      publishedAt: Date.now(),
    };
    await this.offer(roomProducer, () => !producer.closed && !this.closed && this.participants.get(participant.id) === participant);
  }

  /**
   * Cascading: offers a producer relayed from another node (a pipe producer on `router`, the
   * room's first router) exactly like a local participant's producer: piped to the room's other
   * routers, announced and consumed by everyone here. It leaves the room when it closes.
   */
  async publishRelayed(producer: types.Producer, from: { participantId: string; displayName: string; source: MediaSource }): Promise<void> {
    // Its owner publishes this source on this node: they moved here from the relay's node, so the
    // relay is their older producer (the RoomDO closes it shortly). Offered, it would reach people
    // here after the new one, and their pages would take it for the newer.
    if (this.publishesHere(from.participantId, from.source)) return;
    const router = this.router;
    const roomProducer: RoomProducer = {
      id: producer.id,
      ...from,
      kind: producer.kind as MediaKind,
      origin: producer,
      originRouter: router,
      copies: new Map([[router.id, producer]]),
      publishedAt: Date.now(),
    };
    await this.offer(roomProducer, () => !producer.closed && !this.closed && !router.closed);
  }

  private publishesHere(participantId: string, source: MediaSource): boolean {
    return [...this.producersById.values()].some((held) => held.participantId === participantId && held.source === source && !('relayedFrom' in held.origin.appData));
  }

  /** Where this room's cascade pipes listen (the node's RTC address and UDP buffers; the worker picks the port). */
  get cascadeListenInfo(): types.TransportListenInfo {
    const { listenIp, announcedAddress, udpSocketBufferBytes } = this.pool.options;
    return { protocol: 'udp', ip: listenIp, ...(announcedAddress !== listenIp ? { announcedAddress } : {}), ...udpBuffers(udpSocketBufferBytes) };
  }

  private async offer(roomProducer: RoomProducer, stillPublished: () => boolean): Promise<void> {
    const producer = roomProducer.origin;
    await this.queue.run(async () => {
      if (!stillPublished()) return;
      this.producersById.set(producer.id, roomProducer);
      producer.observer.once('close', () => {
        if (this.producersById.get(producer.id) !== roomProducer) return;
        this.producersById.delete(producer.id);
        if (roomProducer.kind === 'audio') this.audioSelection?.remove(producer.id);
        this.emit('producerRemoved', roomProducer);
        // A held room kept open for its relays closes with the last of them.
        if (this.holds > 0) this.closeIfDone();
      });
      for (const place of this.routers) await this.pipe(roomProducer, place);
      const primaryCopy = roomProducer.copies.get(this.router.id);
      if (producer.kind === 'audio' && primaryCopy) {
        await this.activeSpeaker?.addProducer({ producerId: primaryCopy.id }).catch(() => undefined);
        await this.audioSelection?.add(primaryCopy);
      }
    });
    if (!stillPublished()) return;
    this.emit('producerAdded', roomProducer);
    if (this.offerSteps.size > 0) {
      const offeredBy = Date.now() + OFFER_STEPS_LIMIT_MS;
      await within(OFFER_STEPS_LIMIT_MS, Promise.allSettled([...this.offerSteps].map(async (step) => step(roomProducer, offeredBy))));
      if (!stillPublished()) return;
    }
    await Promise.all(
      [...this.participants.values()].map((other) =>
        other.consume(roomProducer).catch((error: unknown) => other.log.warn('consume failed', { err: String(error) })),
      ),
    );
  }

  /**
   * Runs `step` on every producer published from now on before anyone here is offered it, for at
   * most OFFER_STEPS_LIMIT_MS (a failing step only stops waiting); `offeredBy` is when that limit
   * ends (Date.now() ms). A recording uses it to have its capture consuming first. The answer
   * unregisters it.
   */
  prepareOffers(step: (producer: RoomProducer, offeredBy: number) => Promise<void>): () => void {
    this.offerSteps.add(step);
    return () => this.offerSteps.delete(step);
  }

  /** The loudest speakers changed: every participant's audio consumers follow. */
  private applyAudioSelection(): void {
    // Never rejects: a consumer closing meanwhile has nothing to pause.
    for (const participant of this.participants.values()) void participant.applyAudioSelection();
  }

  /** Consumers for every producer already in the room (after join + recv transport), offered together. */
  async consumeExisting(participant: Participant): Promise<void> {
    await participant.consumeAll([...this.producersById.values()]);
  }

  removeParticipant(
    participant: Participant,
    reason: string,
    code: Parameters<ParticipantSink['disconnect']>[0] | null,
    { closeIfEmpty = true } = {},
  ): void {
    if (this.participants.get(participant.id) !== participant) {
      participant.close();
      return;
    }
    this.participants.delete(participant.id);
    participant.close();
    participant.log.info('participant left', { reason });
    if (code !== null) participant.sink.disconnect(code, reason);
    this.emit('participantLeft', participant.id, reason);
    // Close an extra router nobody is placed on any more (the first router carries the room).
    const place = participant.place;
    const placedHere = [...this.participants.values()].some((other) => other.place === place);
    if (!placedHere && place !== this.routers[0] && !place.router.closed) place.router.close();
    if (closeIfEmpty) this.closeIfDone();
  }

  /**
   * A recording holds its room: with nobody left here, the room stays open while the meeting goes
   * on on other nodes — a pipe to one of them is open, or a relay from one feeds it (the recording
   * goes on with it, even while nobody there sends anything) — and closes once the last pipe and
   * relay or the hold goes (the RoomDO closes the pipes when a node's part of the meeting is gone,
   * and the meeting's end closes the room). A room with no other node closes with its last
   * participant, held or not (the meeting moved, or everyone left). A room opened for a recording,
   * nobody here yet (roomForRecording), stays while held: the relays are on their way.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.closeIfDone();
    };
  }

  /** A cascade pipe to another node of the meeting opened; the answer is called when it closes. */
  pipeOpened(): () => void {
    this.pipes++;
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      this.pipes--;
      if (this.holds > 0) this.closeIfDone();
    };
  }

  /** Closes the room when nobody is here and no hold keeps it (for the relays it gets, or awaits). */
  closeIfDone(): void {
    if (this.closed || this.participants.size > 0) return;
    if (this.holds > 0 && (!this.hadParticipant || this.pipes > 0 || [...this.producersById.values()].some((held) => 'relayedFrom' in held.origin.appData))) return;
    this.close();
  }

  broadcast(message: Parameters<ParticipantSink['notify']>[0]): void {
    for (const participant of this.participants.values()) participant.sink.notify(message);
  }

  close(code: Parameters<ParticipantSink['disconnect']>[0] | null = null, reason = 'room closed'): void {
    if (this.closed) return;
    this.closed = true;
    for (const participant of [...this.participants.values()]) {
      this.participants.delete(participant.id);
      participant.close();
      if (code !== null) participant.sink.disconnect(code, reason);
      this.emit('participantLeft', participant.id, reason);
    }
    for (const place of [...this.routers]) if (!place.router.closed) place.router.close();
    this.producersById.clear();
    this.log.info('room closed', { reason });
    this.emit('closed');
  }
}

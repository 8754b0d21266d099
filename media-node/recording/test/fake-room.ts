import { EventEmitter } from 'node:events';
import type { Producer, Router } from 'mediasoup/types';
import type { MediaSource } from '../../../schema/wire/common.js';
import type { RoomProducer } from '../../rooms/types.js';
import type { RecordableRoom } from '../controller.js';

/**
 * What the recording controller sees of a meeting, without signaling or WebRTC: producers of
 * synthetic participants on one router, published and closed as a Room would announce them.
 */
export class FakeRoom extends EventEmitter<{ producerAdded: [RoomProducer]; producerRemoved: [RoomProducer]; closed: [] }> implements RecordableRoom {
  private readonly published = new Map<string, RoomProducer>();
  private readonly offerSteps = new Set<(roomProducer: RoomProducer, offeredBy: number) => Promise<void>>();
  readonly routers: Router[];

  constructor(
    readonly meetingId: string,
    readonly router: Router,
  ) {
    super();
    this.routers = [router];
  }

  *producers(): IterableIterator<RoomProducer & { producer: Producer }> {
    for (const roomProducer of this.published.values()) if (!roomProducer.origin.closed) yield { ...roomProducer, producer: roomProducer.origin };
  }

  publish(producer: Producer, participantId: string, source: MediaSource, displayName = participantId): void {
    const roomProducer: RoomProducer = {
      id: producer.id,
      participantId,
      displayName,
      kind: producer.kind,
      source,
      origin: producer,
      originRouter: this.router,
      copies: new Map([[this.router.id, producer]]),
      publishedAt: Date.now(),
    };
    this.published.set(producer.id, roomProducer);
    producer.observer.once('close', () => {
      this.published.delete(producer.id);
      this.emit('producerRemoved', roomProducer);
    });
    this.emit('producerAdded', roomProducer);
    // Offered at once: the fake keeps nobody waiting for the steps.
    for (const step of this.offerSteps) void step(roomProducer, Date.now()).catch(() => undefined);
  }

  prepareOffers(step: (roomProducer: RoomProducer, offeredBy: number) => Promise<void>): () => void {
    this.offerSteps.add(step);
    return () => this.offerSteps.delete(step);
  }

  /** Holds taken and not let go (Room.hold). */
  holds = 0;

  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
    };
  }

  close(): void {
    this.emit('closed');
  }
}

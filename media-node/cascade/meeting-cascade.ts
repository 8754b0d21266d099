import type { types } from 'mediasoup';
import { AppError, type PipeEnd, type RelayedProducer } from '../../schema/wire/index.js';
import type { Room } from '../rooms/room.js';
import { SerialQueue } from '../rooms/serial-queue.js';
import { toRtpParameters } from '../signaling/mediasoup-params.js';

/** One end of a meeting's pipe toward one peer node, and what crosses it. */
interface CascadePipe {
  peerNodeId: string;
  transport: types.PipeTransport;
  /** The peer end it is connected to (absent until cascadeConnectPipe). */
  remote: PipeEnd | undefined;
  /** Producers sent to the peer: producer id → pipe consumer (one per producer, whatever the peer's audience). */
  sending: Map<string, { consumer: types.Consumer; relayed: RelayedProducer }>;
  /** Producers received from the peer: producer id → pipe producer, offered in the room. */
  receiving: Map<string, types.Producer>;
}

/**
 * A meeting's part in a cascade on this node: its pipes to other nodes of the meeting, all on the
 * room's first router (every producer of the room is available there, local or relayed). Nodes
 * never talk to each other about the pipe: the RoomDO carries each end's answer to the other.
 * Everything here closes with the room (its routers close the transports), never the reverse.
 * (Each command is logged by the control link as 'command done'/'command failed'.)
 */
export class MeetingCascade {
  private readonly pipes = new Map<string, CascadePipe>();
  private readonly queue = new SerialQueue();

  constructor(private readonly room: Room) {}

  /** Peer node ids this meeting has a pipe with (for logs and tests). */
  get peers(): string[] {
    return [...this.pipes.keys()];
  }

  /** The open pipe toward a peer, if any. */
  pipeTo(peerNodeId: string): { transport: types.PipeTransport; sending: ReadonlySet<string>; receiving: ReadonlySet<string> } | undefined {
    const pipe = this.pipes.get(peerNodeId);
    if (!pipe) return undefined;
    return { transport: pipe.transport, sending: new Set(pipe.sending.keys()), receiving: new Set(pipe.receiving.keys()) };
  }

  /** Opens (or answers the existing) end toward the peer. */
  openPipe(peerNodeId: string): Promise<PipeEnd> {
    return this.queue.run(async () => endOf(this.pipes.get(peerNodeId) ?? (await this.createPipe(peerNodeId))));
  }

  private async createPipe(peerNodeId: string): Promise<CascadePipe> {
    const router = this.room.router;
    const transport = await router.createPipeTransport({
      listenInfo: this.room.cascadeListenInfo,
      // The ends sit on different hosts: encrypt, and repair loss with NACK/RTX (both ends must enable it).
      enableSrtp: true,
      enableRtx: true,
      enableSctp: false,
      appData: { meetingId: this.room.meetingId, peerNodeId },
    });
    if (router.closed || this.room.closed) {
      transport.close();
      throw new AppError('MEETING_NOT_FOUND', 'the meeting closed on this node meanwhile');
    }
    const pipe: CascadePipe = { peerNodeId, transport, remote: undefined, sending: new Map(), receiving: new Map() };
    this.pipes.set(peerNodeId, pipe);
    transport.observer.once('close', () => {
      if (this.pipes.get(peerNodeId) === pipe) this.pipes.delete(peerNodeId);
    });
    return pipe;
  }

  /** Connects the end toward the peer to the peer's end; the same end again is a no-op. */
  connectPipe(peerNodeId: string, remote: PipeEnd): Promise<void> {
    return this.queue.run(async () => {
      const pipe = this.existingPipe(peerNodeId);
      if (pipe.remote) {
        if (sameEnd(pipe.remote, remote)) return;
        throw new AppError('CONFLICT', 'this pipe is connected to another end already; close it and open a new one');
      }
      await pipe.transport.connect({ ip: remote.ip, port: remote.port, srtpParameters: remote.srtpParameters });
      // While it is connected the meeting goes on on that node: a room held by its recording stays.
      // (An end opened but never connected, its peer's failed, counts for nothing.)
      const released = this.room.pipeOpened();
      pipe.transport.observer.once('close', released);
      pipe.remote = remote;
    });
  }

  /** Sends a producer of this room down the pipe (once); answers what the peer needs to receive it. */
  sendProducer(peerNodeId: string, producerId: string): Promise<RelayedProducer> {
    return this.queue.run(async () => {
      const pipe = this.existingPipe(peerNodeId);
      const already = pipe.sending.get(producerId);
      // Asked again (the peer's receive failed and is retried): the pause state as it is now, not
      // as it was at the first send — a pause or resume since was mirrored to no copy.
      if (already && !already.consumer.closed) return { ...already.relayed, paused: already.consumer.producerPaused };
      const source = [...this.room.producers()].find((candidate) => candidate.id === producerId);
      if (!source) throw new AppError('NOT_FOUND', 'no such producer in this meeting on this node');
      if (pipe.receiving.has(producerId)) {
        throw new AppError('CONFLICT', 'this producer came from that node; it cannot be sent back');
      }
      const consumer = await pipe.transport.consume({ producerId: source.producer.id, appData: { peerNodeId } });
      if (pipe.transport.closed || source.producer.closed) {
        consumer.close();
        throw new AppError('NOT_FOUND', 'the producer or the pipe closed meanwhile');
      }
      const relayed: RelayedProducer = {
        producerId,
        participantId: source.participantId,
        displayName: source.displayName,
        kind: source.kind,
        source: source.source,
        rtpParameters: consumer.rtpParameters,
        paused: consumer.producerPaused,
      };
      pipe.sending.set(producerId, { consumer, relayed });
      consumer.observer.once('close', () => {
        if (pipe.sending.get(producerId)?.consumer === consumer) pipe.sending.delete(producerId);
      });
      return relayed;
    });
  }

  /** Receives a producer from the peer (once) and offers it to this node's participants. */
  receiveProducer(peerNodeId: string, relayed: RelayedProducer): Promise<void> {
    return this.queue.run(async () => {
      const pipe = this.existingPipe(peerNodeId);
      const existing = pipe.receiving.get(relayed.producerId);
      if (existing && !existing.closed) {
        // Received again with the origin's current pause state: the copy follows it.
        if (existing.paused !== relayed.paused) await (relayed.paused ? existing.pause() : existing.resume());
        return;
      }
      if ([...this.room.producers()].some((candidate) => candidate.id === relayed.producerId)) {
        throw new AppError('CONFLICT', 'this producer is in the meeting on this node already');
      }
      const producer = await pipe.transport.produce({
        id: relayed.producerId,
        kind: relayed.kind,
        rtpParameters: toRtpParameters(relayed.rtpParameters),
        paused: relayed.paused,
        appData: { participantId: relayed.participantId, source: relayed.source, relayedFrom: peerNodeId },
      });
      if (pipe.transport.closed) {
        producer.close();
        throw new AppError('NOT_FOUND', 'the pipe closed meanwhile');
      }
      pipe.receiving.set(relayed.producerId, producer);
      producer.observer.once('close', () => {
        if (pipe.receiving.get(relayed.producerId) === producer) pipe.receiving.delete(relayed.producerId);
      });
      await this.room.publishRelayed(producer, { participantId: relayed.participantId, displayName: relayed.displayName, source: relayed.source });
    });
  }

  /** Stops relaying a producer over the pipe with the peer, whichever way it crossed. */
  closeProducer(peerNodeId: string, producerId: string): Promise<void> {
    return this.queue.run(async () => {
      const pipe = this.pipes.get(peerNodeId);
      pipe?.sending.get(producerId)?.consumer.close();
      // Closing the pipe producer takes it out of the room; its consumers here hear producerclose.
      pipe?.receiving.get(producerId)?.close();
    });
  }

  /**
   * Mirrors a pause or resume of a producer received from the peer (the pipe carries RTP, not
   * mediasoup's pause events), so consumers here hear consumerPaused/consumerResumed.
   */
  setReceivedProducerPaused(peerNodeId: string, producerId: string, paused: boolean): Promise<void> {
    return this.queue.run(async () => {
      const producer = this.existingPipe(peerNodeId).receiving.get(producerId);
      if (!producer) throw new AppError('NOT_FOUND', 'no such producer received from that node');
      if (paused) await producer.pause();
      else await producer.resume();
    });
  }

  /** Closes the pipe with the peer and everything relayed over it. */
  closePipe(peerNodeId: string): Promise<void> {
    return this.queue.run(async () => {
      const pipe = this.pipes.get(peerNodeId);
      if (!pipe) return;
      pipe.transport.close();
      this.pipes.delete(peerNodeId);
    });
  }

  private existingPipe(peerNodeId: string): CascadePipe {
    const pipe = this.pipes.get(peerNodeId);
    if (!pipe || pipe.transport.closed) throw new AppError('NOT_FOUND', `no pipe toward node ${peerNodeId} in this meeting; open it first`);
    return pipe;
  }
}

function endOf(pipe: CascadePipe): PipeEnd {
  const { srtpParameters, tuple } = pipe.transport;
  if (!srtpParameters) throw new AppError('MEDIA_ERROR', 'pipe transport has no SRTP parameters');
  return { ip: tuple.localAddress, port: tuple.localPort, srtpParameters };
}

function sameEnd(a: PipeEnd, b: PipeEnd): boolean {
  return a.ip === b.ip && a.port === b.port && a.srtpParameters.keyBase64 === b.srtpParameters.keyBase64 && a.srtpParameters.cryptoSuite === b.srtpParameters.cryptoSuite;
}

const cascades = new WeakMap<Room, MeetingCascade>();

/** The room's cascade part (created on first use; it lives and dies with the room). */
export function cascadeOf(room: Room): MeetingCascade {
  let cascade = cascades.get(room);
  if (!cascade) cascades.set(room, (cascade = new MeetingCascade(room)));
  return cascade;
}

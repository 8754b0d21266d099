import { AppError, assertNever, mediaKindSchema, type MediaRequest } from '../../schema/wire/index.js';
import type { Participant } from '../rooms/participant.js';
import type { Room } from '../rooms/room.js';
import { unmuteOwn } from '../rooms/self-unmute.js';
import { toDtlsParameters, toRtpCapabilities, toRtpParameters } from './mediasoup-params.js';

export interface HandlerResult {
  data: Record<string, unknown>;
  /** Work that must follow the answer (e.g. consumers the client can only handle after it). */
  after?: () => Promise<void>;
}

export interface SessionControls {
  leave(): void;
}

/** A mediasoup call on an object that may close meanwhile (its owner left): that is NOT_FOUND. */
async function onLive<T>(object: { closed: boolean }, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    // The worker may answer "not found" before the close notification reaches this process.
    if (object.closed || (error instanceof Error && /not found/i.test(error.message))) throw new AppError('NOT_FOUND', 'it was closed meanwhile');
    throw error;
  }
}

/** One request of a joined participant → its answer. Exhaustive over the wire's methods. */
export async function handleRequest(request: MediaRequest, room: Room, participant: Participant, session: SessionControls): Promise<HandlerResult> {
  switch (request.method) {
    case 'getRouterRtpCapabilities':
      return { data: { rtpCapabilities: participant.place.router.rtpCapabilities } };
    case 'join': {
      participant.rtpCapabilities = toRtpCapabilities(request.data.rtpCapabilities);
      return { data: { participantId: participant.id }, after: () => room.consumeExisting(participant) };
    }
    case 'createTransport': {
      const transport = await participant.createTransport(request.data.direction, {
        sctp: request.data.sctpCapabilities !== undefined,
        ...(request.data.forceTcp !== undefined ? { forceTcp: request.data.forceTcp } : {}),
      });
      return {
        data: {
          id: transport.id,
          iceParameters: transport.iceParameters,
          iceCandidates: transport.iceCandidates,
          dtlsParameters: transport.dtlsParameters,
          ...(transport.sctpParameters ? { sctpParameters: transport.sctpParameters } : {}),
        },
        ...(request.data.direction === 'recv' ? { after: () => room.consumeExisting(participant) } : {}),
      };
    }
    case 'connectTransport': {
      const transport = participant.transport(request.data.transportId);
      await onLive(transport, () => transport.connect({ dtlsParameters: toDtlsParameters(request.data.dtlsParameters) }));
      return { data: {} };
    }
    case 'restartIce': {
      const transport = participant.transport(request.data.transportId);
      const iceParameters = await onLive(transport, () => transport.restartIce());
      return { data: { iceParameters } };
    }
    case 'produce': {
      const produce = () =>
        participant.produce({
          transportId: request.data.transportId,
          kind: request.data.kind,
          source: request.data.source,
          rtpParameters: toRtpParameters(request.data.rtpParameters),
          ...(request.data.paused !== undefined ? { paused: request.data.paused } : {}),
        });
      // A paused producer unmutes nothing; producing anew is unmuting under the host-mute rules.
      const producer = request.data.paused === true ? await produce() : await unmuteOwn(room, participant, request.data.kind, produce);
      return { data: { producerId: producer.id }, after: () => room.publish(participant, producer, request.data.source) };
    }
    case 'pauseProducer': {
      const producer = participant.producer(request.data.producerId);
      await onLive(producer, () => producer.pause());
      return { data: {} };
    }
    case 'resumeProducer': {
      const producer = participant.producer(request.data.producerId);
      await unmuteOwn(room, participant, mediaKindSchema.parse(producer.kind), async () => {
        await onLive(producer, () => producer.resume());
        return producer;
      });
      return { data: {} };
    }
    case 'closeProducer':
      participant.producer(request.data.producerId).close();
      return { data: {} };
    case 'resumeConsumer':
    case 'pauseConsumer': {
      // Through the consumer's gate: a speaker the node left out (top-N audio) stays paused.
      const consumer = participant.consumer(request.data.consumerId);
      await onLive(consumer, () => participant.setConsumerPaused(consumer.id, request.method === 'pauseConsumer'));
      return { data: {} };
    }
    case 'setConsumerPreferredLayers': {
      const consumer = participant.consumer(request.data.consumerId);
      await onLive(consumer, () =>
        participant.setConsumerPreferredLayers(consumer.id, {
          spatialLayer: request.data.spatialLayer,
          ...(request.data.temporalLayer !== undefined ? { temporalLayer: request.data.temporalLayer } : {}),
        }),
      );
      return { data: {} };
    }
    case 'setReceiveBitrate':
      await participant.setReceiveBitrate(request.data.maxBitrate);
      return { data: {} };
    case 'getTransportStats': {
      const transport = participant.transport(request.data.transportId);
      const stats = await onLive(transport, () => transport.getStats());
      return { data: { stats } };
    }
    case 'setPinned':
      await participant.setPinned(request.data.participantIds);
      return { data: {} };
    case 'leave':
      return { data: {}, after: async () => session.leave() };
    default:
      return assertNever(request, 'signaling request');
  }
}

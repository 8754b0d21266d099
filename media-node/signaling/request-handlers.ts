import { AppError, type MediaRequest } from '../../schema/wire/index.js';
import type { Participant } from '../rooms/participant.js';
import type { Room } from '../rooms/room.js';
import { toDtlsParameters, toRtpCapabilities, toRtpParameters } from './mediasoup-params.js';

export interface HandlerResult {
  data: Record<string, unknown>;
  /** Work that must follow the answer (e.g. consumers the client can only handle after it). */
  after?: () => Promise<void>;
}

export interface SessionControls {
  leave(): void;
}

function assertNever(value: never): never {
  throw new AppError('UNKNOWN_MESSAGE', `unknown method ${String((value as { method?: unknown }).method)}`);
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
    case 'connectTransport':
      await participant.transport(request.data.transportId).connect({ dtlsParameters: toDtlsParameters(request.data.dtlsParameters) });
      return { data: {} };
    case 'restartIce': {
      const iceParameters = await participant.transport(request.data.transportId).restartIce();
      return { data: { iceParameters } };
    }
    case 'produce': {
      const producer = await participant.produce({
        transportId: request.data.transportId,
        kind: request.data.kind,
        source: request.data.source,
        rtpParameters: toRtpParameters(request.data.rtpParameters),
        ...(request.data.paused !== undefined ? { paused: request.data.paused } : {}),
      });
      return { data: { producerId: producer.id }, after: () => room.publish(participant, producer, request.data.source) };
    }
    case 'pauseProducer':
      await participant.producer(request.data.producerId).pause();
      return { data: {} };
    case 'resumeProducer':
      await participant.producer(request.data.producerId).resume();
      return { data: {} };
    case 'closeProducer':
      participant.producer(request.data.producerId).close();
      return { data: {} };
    case 'resumeConsumer':
      await participant.consumer(request.data.consumerId).resume();
      return { data: {} };
    case 'pauseConsumer':
      await participant.consumer(request.data.consumerId).pause();
      return { data: {} };
    case 'setConsumerPreferredLayers': {
      const consumer = participant.consumer(request.data.consumerId);
      await consumer.setPreferredLayers({
        spatialLayer: request.data.spatialLayer,
        ...(request.data.temporalLayer !== undefined ? { temporalLayer: request.data.temporalLayer } : {}),
      });
      return { data: {} };
    }
    case 'getTransportStats': {
      const stats = await participant.transport(request.data.transportId).getStats();
      return { data: { stats } };
    }
    case 'leave':
      return { data: {}, after: async () => session.leave() };
    default:
      return assertNever(request);
  }
}

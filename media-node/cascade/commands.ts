import { AppError, assertNever, type NodeCommand, type NodeCommandData } from '../../schema/wire/index.js';
import type { Room } from '../rooms/room.js';
import type { RoomManager } from '../rooms/room-manager.js';
import { cascadeOf } from './meeting-cascade.js';

export type CascadeCommand = Extract<NodeCommand, { command: `cascade${string}` }>;

export function isCascadeCommand(command: NodeCommand): command is CascadeCommand {
  return command.command.startsWith('cascade');
}

/**
 * Executes one cascade command of the RoomDO; answers the data its commandResult carries (pipe
 * ends, relayed producers). Opening or relaying needs the meeting's room here; closing what is
 * already gone is a no-op, so the RoomDO may repeat any close after a lost answer.
 */
export async function executeCascadeCommand(command: CascadeCommand, rooms: RoomManager): Promise<NodeCommandData | undefined> {
  const open = await rooms.openRoom(command.meetingId);
  switch (command.command) {
    case 'cascadeOpenPipe':
      return { kind: 'pipeEnd', pipe: await cascadeOf(required(open)).openPipe(command.peerNodeId) };
    case 'cascadeConnectPipe':
      await cascadeOf(required(open)).connectPipe(command.peerNodeId, command.remote);
      return undefined;
    case 'cascadeSendProducer':
      return { kind: 'relayedProducer', producer: await cascadeOf(required(open)).sendProducer(command.peerNodeId, command.producerId) };
    case 'cascadeReceiveProducer':
      await cascadeOf(required(open)).receiveProducer(command.peerNodeId, command.producer);
      return undefined;
    case 'cascadeSetProducerPaused':
      await cascadeOf(required(open)).setReceivedProducerPaused(command.peerNodeId, command.producerId, command.paused);
      return undefined;
    case 'cascadeCloseProducer':
      if (open) await cascadeOf(open).closeProducer(command.peerNodeId, command.producerId);
      return undefined;
    case 'cascadeClosePipe':
      if (open) await cascadeOf(open).closePipe(command.peerNodeId);
      return undefined;
    default:
      return assertNever(command, 'cascade command');
  }
}

function required(room: Room | undefined): Room {
  if (!room) throw new AppError('MEETING_NOT_FOUND', 'the meeting has no room on this node (no local participant)');
  return room;
}

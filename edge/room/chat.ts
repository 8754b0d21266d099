import { AppError } from '../../schema/wire/errors.js';
import type { Participant } from './participants.js';
import type { Room } from './room.js';

/** chat.send: rate-limited per participant, kept for later joiners, written as history, sent to everyone. */
export async function sendChat(room: Room, actor: Participant, text: string): Promise<void> {
  const now = Date.now();
  if (!room.chatLimiter.take(actor.participantId, now)) throw new AppError('RATE_LIMITED', 'you are sending messages too fast; wait a moment');
  const message = { messageId: crypto.randomUUID(), participantId: actor.participantId, displayName: actor.displayName, text, sentAt: now };
  await room.change(() => {
    room.chat.append(message);
    room.record({ kind: 'message', messageId: message.messageId, participantId: actor.participantId, userId: actor.userId, displayName: actor.displayName, text: message.text }, now);
    room.record({ kind: 'analytics', event: 'message_sent', participantId: actor.participantId, props: { length: message.text.length } }, now);
  });
  room.sockets.broadcast({ type: 'chat.message', message });
}

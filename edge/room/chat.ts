import type { Participant } from './participants.js';
import type { Room } from './room.js';
import { normaliseChatText } from './text.js';

/**
 * chat.send (already within the sender's limit, see message-limits.ts): normalised once, then kept
 * for later joiners, written as history and sent to everyone — the same text in all three.
 */
export async function sendChat(room: Room, actor: Participant, rawText: string): Promise<void> {
  const text = normaliseChatText(rawText);
  const now = Date.now();
  const message = { messageId: crypto.randomUUID(), participantId: actor.participantId, displayName: actor.displayName, text, sentAt: now };
  await room.change(() => {
    room.chat.append(message);
    room.record({ kind: 'message', messageId: message.messageId, participantId: actor.participantId, userId: actor.userId, displayName: actor.displayName, text }, now);
    room.record({ kind: 'analytics', event: 'message_sent', participantId: actor.participantId, props: { length: text.length } }, now);
  });
  room.sockets.broadcast({ type: 'chat.message', message });
}

import type { RoomClientMessage } from '../wire.js';

const DOWN = 'the connection is down. Try again when it is back.';

/**
 * What the person is told when the room socket's queue refused what they did (the connection is
 * down and too much waits for it already): nothing went, nothing will. null for the page's own
 * messages (a media token asked again, a ping), which the person did not ask for.
 */
export function notSentText(message: RoomClientMessage): string | null {
  switch (message.type) {
    case 'chat.send':
      return 'Your message was not sent: the connection is down. Send it again when it is back.';
    case 'hand.set':
      return `${message.raised ? 'Your raised hand' : 'Lowering your hand'} was not sent: ${DOWN}`;
    case 'host.remove':
      return `Remove was not sent: ${DOWN}`;
    case 'host.mute':
      return `Mute was not sent: ${DOWN}`;
    case 'host.setRole':
      return `The role change was not sent: ${DOWN}`;
    case 'host.admit':
      return `Admit was not sent: ${DOWN}`;
    case 'host.deny':
      return `Deny was not sent: ${DOWN}`;
    case 'host.lock':
      return `${message.locked ? 'Lock' : 'Unlock'} meeting was not sent: ${DOWN}`;
    case 'host.lowerHand':
      return `Lower hand was not sent: ${DOWN}`;
    case 'host.end':
      return `End for all was not sent: ${DOWN}`;
    case 'host.allowUnmute':
      return `The unmute setting was not sent: ${DOWN}`;
    case 'recording.start':
      return `Start recording was not sent: ${DOWN}`;
    case 'recording.stop':
      return `Stop recording was not sent: ${DOWN}`;
    case 'media.refresh':
    case 'ping':
      return null;
  }
}

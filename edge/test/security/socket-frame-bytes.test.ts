import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { roomClientMessageSchema } from '../../../schema/wire/room.js';
import { MAX_SOCKET_MESSAGE_BYTES, parseSocketMessage, unionTypes, utf8LengthExceeds } from '../../../schema/wire/socket-frame.js';
import { registerUser } from '../helpers.js';
import { seatedMeeting } from '../kits/room-kit.js';

/**
 * Issue 13, point 8: the socket frame cap counts UTF-8 bytes (what the wire carries), not UTF-16
 * code units — 40,000 '€' are 40,000 units but 120,000 bytes.
 */
const SINGAPORE = { latitude: '1.3521', longitude: '103.8198' };
const bigFrame = JSON.stringify({ type: 'chat.send', text: '€'.repeat(40_000) });

const cleanup: (() => void)[] = [];
afterEach(async () => {
  for (const done of cleanup.splice(0)) done();
  // Let the region log the node's departure before the test file's runtime goes away.
  await new Promise((resolve) => setTimeout(resolve, 300));
});
let host: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Host Frames');
});

describe('socket frame size in bytes', () => {
  it('measures UTF-8 bytes at the edges of the cap', () => {
    expect(bigFrame.length).toBeLessThan(MAX_SOCKET_MESSAGE_BYTES);
    expect(utf8LengthExceeds(bigFrame, MAX_SOCKET_MESSAGE_BYTES)).toBe(true);
    expect(utf8LengthExceeds('a'.repeat(MAX_SOCKET_MESSAGE_BYTES), MAX_SOCKET_MESSAGE_BYTES)).toBe(false);
    expect(utf8LengthExceeds('a'.repeat(MAX_SOCKET_MESSAGE_BYTES + 1), MAX_SOCKET_MESSAGE_BYTES)).toBe(true);
    expect(utf8LengthExceeds('é'.repeat(MAX_SOCKET_MESSAGE_BYTES / 2), MAX_SOCKET_MESSAGE_BYTES)).toBe(false);
    expect(utf8LengthExceeds('é'.repeat(MAX_SOCKET_MESSAGE_BYTES / 2) + 'a', MAX_SOCKET_MESSAGE_BYTES)).toBe(true);
    // an emoji is two units and four bytes
    expect(utf8LengthExceeds('😀'.repeat(MAX_SOCKET_MESSAGE_BYTES / 4), MAX_SOCKET_MESSAGE_BYTES)).toBe(false);
    expect(utf8LengthExceeds('😀'.repeat(MAX_SOCKET_MESSAGE_BYTES / 4 + 1), MAX_SOCKET_MESSAGE_BYTES)).toBe(true);
    // a lone surrogate goes out as U+FFFD: three bytes
    expect(utf8LengthExceeds('\ud800'.repeat(21_845), MAX_SOCKET_MESSAGE_BYTES)).toBe(false);
    expect(utf8LengthExceeds('\ud800'.repeat(21_846), MAX_SOCKET_MESSAGE_BYTES)).toBe(true);
    // agrees with the encoder on mixed text around the limit
    const pieces = ['a', 'é', '€', '😀', '\udc00'];
    for (let round = 0; round < 200; round++) {
      let text = '';
      while (text.length < 30_000) text += pieces[Math.floor(Math.random() * pieces.length)]!.repeat(1 + Math.floor(Math.random() * 50));
      const bytes = new TextEncoder().encode(text).byteLength;
      for (const limit of [bytes - 1, bytes, bytes + 1]) expect(utf8LengthExceeds(text, limit)).toBe(bytes > limit);
    }
    const parsed = parseSocketMessage(roomClientMessageSchema, unionTypes(roomClientMessageSchema), bigFrame);
    expect(parsed).toMatchObject({ ok: false, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('answers a 120 kB frame on the room socket with PAYLOAD_TOO_LARGE and keeps the socket open', async () => {
    const room = await seatedMeeting({ host, region: 'sin', cf: SINGAPORE, cleanup });
    const socket = room.host.socket;
    socket.send(bigFrame);
    const error = await socket.next('error');
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    socket.send({ type: 'ping' });
    await socket.next('pong');
  });
});

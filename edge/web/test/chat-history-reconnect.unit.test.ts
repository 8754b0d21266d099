import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assignment, chatMessage, fakeBrowser, inCall, leaveCalls, roomReconnects, view, welcome } from './call-fakes.js';

/**
 * The chat a page shows after its room socket reconnects. The RoomDO's welcome carries only the
 * last CHAT_HISTORY_ON_JOIN (50) messages: what the page already showed stays, what was said while
 * it was away is added, in order, each message once.
 */

beforeEach(() => {
  fakeBrowser();
});
afterEach(() => {
  leaveCalls();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

const texts = (chat: { text: string }[]) => chat.map((message) => message.text);

describe('chat history after the room socket reconnects', () => {
  it('keeps the messages the page already showed, beyond the last 50 the welcome carries', async () => {
    const history = Array.from({ length: 80 }, (_, i) => chatMessage(i));
    // Joined with the last 50, then 30 more arrived live.
    const { call, room } = await inCall({ chat: history.slice(0, 50) });
    for (const message of history.slice(50)) room.serverSays({ type: 'chat.message', message });
    const room2 = await roomReconnects(room);
    room2.serverSays(welcome(view(), assignment('node-a'), { chat: history.slice(30) }));
    expect(texts(call.chat)).toEqual(texts(history));
  });

  it('adds what was said while the socket was down after what the page showed, each message once', async () => {
    const history = Array.from({ length: 60 }, (_, i) => chatMessage(i));
    const { call, room } = await inCall({ chat: history.slice(0, 50) });
    for (const message of history.slice(50, 55)) room.serverSays({ type: 'chat.message', message });
    const room2 = await roomReconnects(room);
    // Messages 55..59 were sent while the page was away.
    room2.serverSays(welcome(view(), assignment('node-a'), { chat: history.slice(10) }));
    expect(texts(call.chat)).toEqual(texts(history));
  });
});

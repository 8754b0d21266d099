/**
 * The floor for the chat benchmark: a Durable Object that does only what a chat fan-out cannot
 * avoid — parse the frame, serialise one `chat.message`, send it to every socket (hibernatable
 * sockets, as the RoomDO uses) — in its own Miniflare, same runtime, same clients, same run.
 */
import { Miniflare } from 'miniflare';
import { wranglerCompat } from '../miniflare-edge.js';

const FLOOR_SCRIPT = `
import { DurableObject } from 'cloudflare:workers';
export class FloorDO extends DurableObject {
  async fetch(request) {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    pair[1].send(JSON.stringify({ type: 'welcome' }));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
  webSocketMessage(ws, raw) {
    const { text } = JSON.parse(raw);
    const frame = JSON.stringify({ type: 'chat.message', message: { messageId: crypto.randomUUID(), participantId: 'floor-participant', displayName: 'Floor', text, sentAt: Date.now() } });
    for (const socket of this.ctx.getWebSockets()) socket.send(frame);
  }
}
export default {
  fetch(request, env) {
    return env.FLOOR.get(env.FLOOR.idFromName('floor')).fetch(request);
  },
};
`;

export async function startChatFloor(): Promise<{ url: string; close(): Promise<void> }> {
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: 'floor.mjs', contents: FLOOR_SCRIPT }],
    // The Worker's own date and flags (its WebSocket compression setting among them).
    ...wranglerCompat(),
    durableObjects: { FLOOR: { className: 'FloorDO', useSQLite: true } },
    cf: false,
    host: '127.0.0.1',
    port: 0,
  });
  const base = await mf.ready;
  return { url: `ws://${base.host}/floor`, close: () => mf.dispose() };
}

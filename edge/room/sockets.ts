import { wsCloseCodeOf, type ErrorCode } from '../../schema/wire/errors.js';
import type { RoomServerMessage } from '../../schema/wire/room.js';
import { log } from '../http/log.js';

export interface RoomSocketAttachment {
  participantId: string;
  /** False while the participant sits in the waiting room: room traffic is not sent there. */
  admitted: boolean;
}

/** The room's hibernatable sockets, tagged by participant id. */
export class RoomSockets {
  /**
   * Each socket's attachment as last written through this class, so a broadcast does not
   * deserialize one per recipient per message (a quarter of a busy chat room's CPU). Filled
   * lazily after hibernation. A socket whose attachment was cleared elsewhere (departure.ts, on
   * close) may still look admitted here: it is closing, so a send to it fails and is ignored.
   */
  private readonly known = new WeakMap<WebSocket, RoomSocketAttachment | null>();
  /**
   * Every socket of the room, for broadcasts: read once from the runtime (after a wake-up), then
   * kept here (accept adds, a socket found no longer open is dropped) instead of asking the
   * runtime for the whole list on every message.
   */
  private everyone: Set<WebSocket> | null = null;

  constructor(private readonly ctx: DurableObjectState) {}

  accept(participantId: string, admitted: boolean): { client: WebSocket; server: WebSocket } {
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, [participantId]);
    this.attach(server, { participantId, admitted });
    this.everyone?.add(server);
    return { client, server };
  }

  private attach(ws: WebSocket, attachment: RoomSocketAttachment | null): void {
    ws.serializeAttachment(attachment);
    this.known.set(ws, attachment);
  }

  private cached(ws: WebSocket): RoomSocketAttachment | null {
    let attachment = this.known.get(ws);
    if (attachment === undefined) {
      attachment = RoomSockets.attachment(ws);
      this.known.set(ws, attachment);
    }
    return attachment;
  }

  static attachment(ws: WebSocket): RoomSocketAttachment | null {
    return (ws.deserializeAttachment() as RoomSocketAttachment | null) ?? null;
  }

  of(participantId: string): WebSocket[] {
    return this.ctx.getWebSockets(participantId);
  }

  isConnected(participantId: string): boolean {
    return this.of(participantId).length > 0;
  }

  setAdmitted(participantId: string): void {
    for (const ws of this.of(participantId)) this.attach(ws, { participantId, admitted: true });
  }

  send(ws: WebSocket, message: RoomServerMessage): void {
    try {
      ws.send(JSON.stringify(message));
    } catch (error) {
      log('debug', 'room.send_failed', { error: String(error) });
    }
  }

  sendTo(participantId: string, message: RoomServerMessage): void {
    for (const ws of this.of(participantId)) this.send(ws, message);
  }

  /** To every admitted socket, or only those the filter keeps. */
  broadcast(message: RoomServerMessage, keep: (participantId: string) => boolean = () => true): void {
    const frame = JSON.stringify(message);
    this.everyone ??= new Set(this.ctx.getWebSockets());
    for (const ws of this.everyone) {
      if (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) {
        // Closed or closing: its close handler does the bookkeeping; no more frames go to it.
        this.everyone.delete(ws);
        continue;
      }
      const attachment = this.cached(ws);
      if (!attachment?.admitted || !keep(attachment.participantId)) continue;
      try {
        ws.send(frame);
      } catch {
        // A socket closing under us: its close handler does the bookkeeping.
      }
    }
  }

  /** Tells the participant why, then closes its sockets with the matching close code. */
  closeParticipant(participantId: string, code: ErrorCode, reason: string, except?: WebSocket): void {
    for (const ws of this.of(participantId)) if (ws !== except) this.closeSocket(ws, code, reason);
  }

  closeSocket(ws: WebSocket, code: ErrorCode, reason: string): void {
    this.send(ws, { type: 'closed', code, reason });
    // Forget who it was, so the close handler does not treat this as the participant leaving.
    this.attach(ws, null);
    try {
      ws.close(wsCloseCodeOf(code), reason.slice(0, 120));
    } catch {
      // already closed
    }
  }

  closeAll(code: ErrorCode, reason: string): void {
    for (const ws of this.ctx.getWebSockets()) this.closeSocket(ws, code, reason);
  }
}

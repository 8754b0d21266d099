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
  constructor(private readonly ctx: DurableObjectState) {}

  accept(participantId: string, admitted: boolean): { client: WebSocket; server: WebSocket } {
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, [participantId]);
    server.serializeAttachment({ participantId, admitted } satisfies RoomSocketAttachment);
    return { client, server };
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
    for (const ws of this.of(participantId)) ws.serializeAttachment({ participantId, admitted: true } satisfies RoomSocketAttachment);
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
    for (const ws of this.ctx.getWebSockets()) {
      const attachment = RoomSockets.attachment(ws);
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
    ws.serializeAttachment(null);
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

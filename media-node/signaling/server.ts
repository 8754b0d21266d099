import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { AppError, meetingLinkIdSchema } from '../../schema/wire/index.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { RoomManager } from '../rooms/room-manager.js';
import type { MediaTokenVerifier } from './media-token.js';
import { RequestThrottle, type ThrottleLimits } from './request-throttle.js';
import { SignalingSession } from './session.js';

/**
 * Browser signaling: `GET /ws?token=<media token>[&meeting=<link id>]` upgraded to a WebSocket.
 * The token decides meeting, participant and permissions. Refusals are sent as a `closed`
 * notification and a close code (browsers cannot read a refused upgrade's status).
 */
export class SignalingServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 });
  readonly sessions = new Set<SignalingSession>();
  /** Per-participant request buckets (kept across reconnects). */
  readonly throttle: RequestThrottle;

  constructor(
    private readonly verifier: MediaTokenVerifier,
    private readonly rooms: RoomManager,
    private readonly metrics: Metrics,
    private readonly log: Log,
    limits: ThrottleLimits,
  ) {
    this.throttle = new RequestThrottle(limits);
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(request, socket, head, (ws) => void this.onConnection(ws, request));
  }

  private async onConnection(ws: WebSocket, request: IncomingMessage): Promise<void> {
    const session = new SignalingSession(ws, this.metrics, this.log, this.throttle.limits.burst);
    this.sessions.add(session);
    ws.once('close', () => this.sessions.delete(session));
    try {
      const url = new URL(request.url ?? '/', 'http://node.invalid');
      const token = url.searchParams.get('token');
      if (!token) throw new AppError('UNAUTHENTICATED', 'missing token');
      const claims = await this.verifier.verify(token);
      // Gone while its token was checked: do not open a room for nobody.
      if (!session.open) return;
      // A client may name the meeting it means; a token for another meeting is refused.
      const meeting = url.searchParams.get('meeting');
      if (meeting !== null && (!meetingLinkIdSchema.safeParse(meeting).success || meeting !== claims.mid)) {
        throw new AppError('TOKEN_INVALID', 'the media token is for another meeting');
      }
      const { room, participant } = await this.rooms.join(
        claims.mid,
        { participantId: claims.sub, displayName: claims.name, permissions: claims.perms },
        session,
      );
      session.attach(room, participant, this.throttle.bucketFor(claims.mid, claims.sub));
    } catch (error) {
      const appError = error instanceof AppError ? error : new AppError('INTERNAL', 'could not join');
      if (!(error instanceof AppError)) this.log.error('signaling connection failed', { err: String(error) });
      this.metrics.rejectedConnections.inc({ code: appError.code });
      session.disconnect(appError.code, appError.message);
    }
  }

  close(): void {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }
}

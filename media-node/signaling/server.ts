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

/** How long a socket opened without a token may take to send `authenticate`. */
const AUTHENTICATE_TIMEOUT_MS = 10_000;

/**
 * Browser signaling: `GET /ws` upgraded to a WebSocket, whose first frame is `authenticate`
 * { token, meeting? }. The token decides meeting, participant and permissions. A token in the URL
 * (`/ws?token=…`, the older form) is refused without being read: URLs end up in access logs,
 * proxies and browser history, so a secret never travels in one. Refusals are sent as a `closed`
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
    this.wss.handleUpgrade(request, socket, head, (ws) => this.onConnection(ws, request));
  }

  private onConnection(ws: WebSocket, request: IncomingMessage): void {
    const session = new SignalingSession(ws, this.metrics, this.log, this.throttle.limits.burst);
    this.sessions.add(session);
    ws.once('close', () => this.sessions.delete(session));
    const query = new URL(request.url ?? '/', 'http://node.invalid').searchParams;
    if (query.has('token')) {
      this.metrics.rejectedConnections.inc({ code: 'UNAUTHENTICATED' });
      session.refuse('UNAUTHENTICATED', 'send the media token in the authenticate message, never in the URL', null);
      return;
    }
    session.awaitAuthentication(AUTHENTICATE_TIMEOUT_MS, (authenticate) =>
      void this.admit(session, { token: authenticate.data.token, meeting: authenticate.data.meeting ?? null }, authenticate.id),
    );
  }

  /** Checks the token and seats its participant; `answerTo` is the authenticate request's id. */
  private async admit(session: SignalingSession, credentials: { token: string; meeting: string | null }, answerTo: number): Promise<void> {
    try {
      if (!credentials.token) throw new AppError('UNAUTHENTICATED', 'missing token');
      const claims = await this.verifier.verify(credentials.token);
      // Gone while its token was checked: do not open a room for nobody.
      if (!session.open) return;
      // A client may name the meeting it means; a token for another meeting is refused.
      const meeting = credentials.meeting;
      if (meeting !== null && (!meetingLinkIdSchema.safeParse(meeting).success || meeting !== claims.mid)) {
        throw new AppError('TOKEN_INVALID', 'the media token is for another meeting');
      }
      const { room, participant } = await this.rooms.join(
        claims.mid,
        { participantId: claims.sub, displayName: claims.name, permissions: claims.perms },
        session,
        { seconds: claims.iat, ms: claims.iatMs },
      );
      session.attach(room, participant, this.throttle.bucketFor(claims.mid, claims.sub), answerTo);
    } catch (error) {
      const appError = error instanceof AppError ? error : new AppError('INTERNAL', 'could not join');
      if (!(error instanceof AppError)) this.log.error('signaling connection failed', { err: String(error) });
      this.metrics.rejectedConnections.inc({ code: appError.code });
      session.refuse(appError.code, appError.message, answerTo);
    }
  }

  close(): void {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }
}

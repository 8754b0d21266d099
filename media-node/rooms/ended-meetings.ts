import { MEDIA_TOKEN_TTL_SECONDS } from '../../schema/wire/index.js';

/** Edge and node clocks may differ this much; a token's iat is the edge's clock (whole seconds). */
const CLOCK_SKEW_MS = 1_000;
/**
 * Two edge clocks (the RegionDO's or RoomDO's that closed the meeting, and the RoomDO's that signed
 * the token) may differ this much: machines of one network kept in step by NTP.
 */
const EDGE_CLOCK_SKEW_MS = 100;
/** A token issued up to the end lives at most this long after it. */
const REMEMBER_MS = MEDIA_TOKEN_TTL_SECONDS * 1_000 + 2 * CLOCK_SKEW_MS;

/** When a media token was issued, as precisely as it says. */
export interface TokenIssued {
  /** iat: whole seconds, the edge's clock. */
  seconds: number;
  /** iatMs, when the token carries it. */
  ms?: number | undefined;
}

/**
 * Meetings the edge closed here (ended, or moved away). Every media token for one of them issued
 * up to the close is refused until it would have expired anyway; a token issued later (the meeting
 * moved back) is good. When both the close and the token carry the edge's time in milliseconds the
 * two are compared directly; otherwise the node's own clock stands in for the close, with a second
 * of skew either way (so a meeting moved back within ~2 s costs its clients one more try).
 * Entries go once no token they refuse can still be valid.
 */
export class EndedMeetings {
  /** meeting id → when it was closed here (node clock, epoch ms; edge clock when the edge said), and why. */
  private readonly closedAt = new Map<string, { at: number; edgeAt: number | undefined; why: 'ended' | 'moved' }>();

  end(meetingId: string, why: 'ended' | 'moved' = 'ended', now = Date.now(), edgeClosedAt?: number): void {
    this.prune(now);
    this.closedAt.set(meetingId, { at: now, edgeAt: edgeClosedAt, why });
  }

  /**
   * Why a token for `meetingId` issued at `issued` is refused — it predates the close — or null
   * when it is good. A moved meeting's client reconnects through the room; an ended one's call is over.
   */
  refuses(meetingId: string, issued: TokenIssued, now = Date.now()): 'ended' | 'moved' | null {
    const closed = this.closedAt.get(meetingId);
    if (closed === undefined) return null;
    if (now - closed.at >= REMEMBER_MS) {
      this.closedAt.delete(meetingId);
      return null;
    }
    if (closed.edgeAt !== undefined && issued.ms !== undefined) return issued.ms <= closed.edgeAt + EDGE_CLOCK_SKEW_MS ? closed.why : null;
    return issued.seconds * 1_000 <= closed.at + CLOCK_SKEW_MS ? closed.why : null;
  }

  /** The edge ended the meeting here (not moved: a moved meeting may come back), as far as remembered. */
  ended(meetingId: string, now = Date.now()): boolean {
    const closed = this.closedAt.get(meetingId);
    return closed !== undefined && closed.why === 'ended' && now - closed.at < REMEMBER_MS;
  }

  get size(): number {
    return this.closedAt.size;
  }

  private prune(now: number): void {
    for (const [meetingId, { at }] of this.closedAt) if (now - at >= REMEMBER_MS) this.closedAt.delete(meetingId);
  }
}

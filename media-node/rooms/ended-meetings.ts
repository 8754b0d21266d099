import { MEDIA_TOKEN_TTL_SECONDS } from '../../schema/wire/index.js';

/** Edge and node clocks may differ this much; a token's iat is the edge's clock (whole seconds). */
const CLOCK_SKEW_MS = 1_000;
/** A token issued up to the end lives at most this long after it. */
const REMEMBER_MS = MEDIA_TOKEN_TTL_SECONDS * 1_000 + 2 * CLOCK_SKEW_MS;

/**
 * Meetings the edge closed here (ended, or moved away). Every media token for one of them issued
 * up to the close is refused until it would have expired anyway; a token issued later (the meeting
 * moved back) is good. Entries go once no token they refuse can still be valid.
 */
export class EndedMeetings {
  /** meeting id → when the edge closed it here (epoch ms), and whether it ended or moved away. */
  private readonly closedAt = new Map<string, { at: number; why: 'ended' | 'moved' }>();

  end(meetingId: string, why: 'ended' | 'moved' = 'ended', now = Date.now()): void {
    this.prune(now);
    this.closedAt.set(meetingId, { at: now, why });
  }

  /**
   * Why a token for `meetingId` issued at `issuedAtSeconds` (its iat) is refused — it predates the
   * close — or null when it is good. A moved meeting's client reconnects through the room; an
   * ended one's call is over.
   */
  refuses(meetingId: string, issuedAtSeconds: number, now = Date.now()): 'ended' | 'moved' | null {
    const closed = this.closedAt.get(meetingId);
    if (closed === undefined) return null;
    if (now - closed.at >= REMEMBER_MS) {
      this.closedAt.delete(meetingId);
      return null;
    }
    return issuedAtSeconds * 1_000 <= closed.at + CLOCK_SKEW_MS ? closed.why : null;
  }

  get size(): number {
    return this.closedAt.size;
  }

  private prune(now: number): void {
    for (const [meetingId, { at }] of this.closedAt) if (now - at >= REMEMBER_MS) this.closedAt.delete(meetingId);
  }
}

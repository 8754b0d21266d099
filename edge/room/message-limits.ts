import { assertNever } from '../../schema/wire/common.js';
import type { RoomClientMessage } from '../../schema/wire/room.js';

/**
 * Per-participant chat limit: a burst of CHAT_BURST, then one more every CHAT_REFILL_MS. Two a
 * second sustained is more than anyone types, and lets a 200-person room carry the 50,000
 * deliveries/s issue 15 asks of it (at one a second it was capped at 40,000).
 */
export const CHAT_BURST = 5;
export const CHAT_REFILL_MS = 500;

/** A token bucket: `burst` messages at once, then one every `refillMs`. */
export interface BucketPolicy {
  burst: number;
  refillMs: number;
}

/** What a client message costs: its kind's bucket. Every frame, parsed or not, also takes one from FRAMES. */
export type MessageClass = 'frames' | 'chat' | 'hand' | 'moderation' | 'recording' | 'media' | 'ping';

/**
 * Per participant and class. Chat: burst 5, then 2/s (chat-store.ts). Moderation is sized for "Mute all" and
 * admitting a queue at once. Recording and media.refresh reach the node or the region, so they are
 * the scarcest. `frames` bounds all traffic, malformed frames included.
 */
export const MESSAGE_LIMITS: Record<MessageClass, BucketPolicy> = {
  frames: { burst: 40, refillMs: 100 },
  chat: { burst: CHAT_BURST, refillMs: CHAT_REFILL_MS },
  hand: { burst: 5, refillMs: 2_000 },
  moderation: { burst: 200, refillMs: 50 },
  recording: { burst: 4, refillMs: 5_000 },
  media: { burst: 6, refillMs: 3_000 },
  ping: { burst: 10, refillMs: 1_000 },
};

export function messageClassOf(type: RoomClientMessage['type']): MessageClass {
  switch (type) {
    case 'chat.send':
      return 'chat';
    case 'hand.set':
      return 'hand';
    case 'recording.start':
    case 'recording.stop':
      return 'recording';
    case 'media.refresh':
      return 'media';
    case 'ping':
      return 'ping';
    case 'host.remove':
    case 'host.mute':
    case 'host.setRole':
    case 'host.admit':
    case 'host.deny':
    case 'host.lock':
    case 'host.lowerHand':
    case 'host.end':
    case 'host.allowUnmute':
      return 'moderation';
    default:
      return assertNever(type, 'room message type');
  }
}

type Bucket = { tokens: number; at: number };

/** Buckets idle this long are full again and can be forgotten. */
const IDLE_FORGET_MS = Math.max(...Object.values(MESSAGE_LIMITS).map((p) => p.burst * p.refillMs));

/**
 * The room socket's per-participant message limits. Buckets are keyed by participant id, not by
 * socket, and are not dropped when a socket closes: a reconnect (same room session, same
 * participant) continues with the bucket it left. Kept in memory: a room only hibernates after
 * seconds of silence, by which time a flooding sender's buckets would have refilled anyway.
 *
 * Time is the message's arrival in the room (read once, first thing in webSocketMessage), never a
 * clock read after awaits, so work queued behind other messages does not make a sender within
 * its limit look like a burst.
 */
export class MessageLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  /** Takes one token; answers 0 when allowed, otherwise how long until one is free (ms). */
  take(participantId: string, kind: MessageClass, arrivedAt: number): number {
    this.sweep(arrivedAt);
    const policy = MESSAGE_LIMITS[kind];
    const key = `${participantId}\u0000${kind}`;
    const bucket = this.buckets.get(key) ?? { tokens: policy.burst, at: arrivedAt };
    // Arrival times of one participant only move forward; a clock step back adds nothing.
    const tokens = Math.min(policy.burst, bucket.tokens + Math.max(0, arrivedAt - bucket.at) / policy.refillMs);
    const at = Math.max(bucket.at, arrivedAt);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at });
      return Math.max(1, Math.ceil((1 - tokens) * policy.refillMs));
    }
    this.buckets.set(key, { tokens: tokens - 1, at });
    return 0;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < IDLE_FORGET_MS) return;
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) if (now - bucket.at >= IDLE_FORGET_MS) this.buckets.delete(key);
  }
}

import { trackKey, type RemoteTrack } from './remote-tracks.js';

/** Packets arrive on it (none will on a track its sender paused, or one the page holds paused off screen). */
function receiving(remote: RemoteTrack): boolean {
  return !remote.producerPaused && !remote.pausedByPage && !remote.consumer.track.muted;
}

/** What the swaps need from the page's list of remote tracks. */
export interface SwapPage {
  /** The track of this person's source the page shows and plays now, if any. */
  shown(key: string): RemoteTrack | undefined;
  show(remote: RemoteTrack): void;
  /** Off the page, and the node is asked to stop forwarding it (it closes it shortly). */
  retire(remote: RemoteTrack): void;
  /** Back on the page, and the node forwards it again (what replaced it closed first). */
  restore(remote: RemoteTrack): void;
  /** Resolves once the track plays: audio arrives, video has a decoded frame (untilPlaying). */
  playing(remote: RemoteTrack): Promise<void>;
}

/** How long a video successor may take from its first packet to its first decoded frame before it replaces the old one anyway. */
const FIRST_FRAME_LIMIT_MS = 2_000;
const FIRST_FRAME_POLL_MS = 50;

/**
 * Resolves once packets arrive on the track and, for video, a frame of it is decoded (the first
 * packets are a key frame's start; on a loaded machine its decoding took up to a second, which the
 * old track covers). Chromium decodes a received track whether or not anything shows it.
 */
export async function untilPlaying(remote: RemoteTrack, limitMs = FIRST_FRAME_LIMIT_MS): Promise<void> {
  const track = remote.consumer.track;
  if (track.muted) await new Promise<void>((resolve) => track.addEventListener('unmute', () => resolve(), { once: true }));
  if (remote.kind !== 'video') return;
  const giveUpAt = performance.now() + limitMs;
  while (!remote.consumer.closed && performance.now() < giveUpAt) {
    if ((await framesDecoded(remote)) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, FIRST_FRAME_POLL_MS));
  }
}

async function framesDecoded(remote: RemoteTrack): Promise<number> {
  let frames = 0;
  const report = await Promise.resolve()
    .then(() => remote.consumer.getStats())
    .catch(() => null);
  report?.forEach((stat: Record<string, unknown>) => {
    if (stat.type === 'inbound-rtp' && typeof stat.framesDecoded === 'number') frames += stat.framesDecoded;
  });
  return frames;
}

/**
 * Make-before-break per track. A person's source can arrive on a second consumer while the first
 * still plays: they moved to another node and republished, and the relay of their old track runs
 * on for a moment (SUPERSEDED_GRACE_MS, edge/room/cascade.ts). The newcomer stays off the page
 * until it plays (packets, and for video a decoded frame), then replaces the old one in one step. The page never plays a person's
 * voice twice, and never trades a moving picture for one that has not started.
 */
export class TrackSwaps {
  /** Successors not on the page yet, by track key. */
  private readonly waiting = new Map<string, RemoteTrack>();
  /** The track each successor replaced, by track key, until the node closes it. */
  private readonly retired = new Map<string, RemoteTrack>();

  constructor(
    private readonly page: SwapPage,
    private readonly mark: (milestone: string) => void = () => undefined,
  ) {}

  /** A new remote track: shown now, or once its packets arrive if another of its source plays. */
  add(remote: RemoteTrack): void {
    const key = trackKey(remote);
    const shown = this.page.shown(key);
    // A newer successor replaces one still waiting (that one's producer is older).
    const earlier = this.waiting.get(key);
    if (earlier) {
      this.waiting.delete(key);
      this.page.retire(earlier);
    }
    if (!shown || !receiving(shown) || receiving(remote) || remote.producerPaused || remote.pausedByPage) {
      if (shown) this.retire(key, shown);
      this.page.show(remote);
      return;
    }
    this.waiting.set(key, remote);
    this.mark('trackSwapWaiting');
    // Replaced, closed or cleared meanwhile: promote finds another (or no) track waiting and does nothing.
    const promote = () => this.promote(key, remote);
    void this.page.playing(remote).then(promote, promote);
  }

  /**
   * The node closed this track's consumer. Answers whether the page may show it (the caller takes
   * it off); a successor waiting for it takes its place right after.
   */
  removed(remote: RemoteTrack): boolean {
    const key = trackKey(remote);
    for (const held of [this.waiting, this.retired]) {
      if (held.get(key) !== remote) continue;
      held.delete(key);
      return false;
    }
    return true;
  }

  /**
   * After the caller took a closed track off the page: its waiting successor, if any, shows now;
   * else the track it had replaced, if the node still sends it (the newer producer closed first: a
   * move that failed, the person sends from their old node again).
   */
  afterRemoval(remote: RemoteTrack): void {
    const key = trackKey(remote);
    if (this.page.shown(key)) return;
    if (this.waiting.has(key)) {
      // The old track closed before its successor played (the relay's grace ran out, SUPERSEDED_GRACE_MS in edge/room/cascade.ts, or its node died): the tile waits for it.
      this.mark('shownTrackClosed');
      return this.promote(key);
    }
    const replaced = this.retired.get(key);
    if (!replaced) return;
    this.retired.delete(key);
    this.page.restore(replaced);
    this.mark('trackRestored');
  }

  /** The session's tracks are gone (it closed): nothing waits any more. */
  clear(): void {
    this.waiting.clear();
    this.retired.clear();
  }

  private retire(key: string, shown: RemoteTrack): void {
    this.retired.set(key, shown);
    this.page.retire(shown);
  }

  /** The successor waiting for `key` (that one, when given) replaces what the page shows of it. */
  private promote(key: string, only?: RemoteTrack): void {
    const successor = this.waiting.get(key);
    if (!successor || (only && successor !== only)) return;
    this.waiting.delete(key);
    const shown = this.page.shown(key);
    if (shown) this.retire(key, shown);
    this.page.show(successor);
    this.mark('trackSwapped');
  }
}

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
}

/**
 * Make-before-break per track. A person's source can arrive on a second consumer while the first
 * still plays: they moved to another node and republished, and the relay of their old track runs
 * on for a moment (SUPERSEDED_GRACE_MS, edge/room/cascade.ts). The newcomer stays off the page
 * until its packets arrive, then replaces the old one in one step. The page never plays a person's
 * voice twice, and never trades a moving picture for one that has not started.
 */
export class TrackSwaps {
  /** Successors not on the page yet, by track key, with how to stop listening for their packets. */
  private readonly waiting = new Map<string, { remote: RemoteTrack; stopListening: () => void }>();

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
      this.forget(key);
      this.page.retire(earlier.remote);
    }
    if (!shown || !receiving(shown) || receiving(remote) || remote.producerPaused || remote.pausedByPage) {
      if (shown) this.page.retire(shown);
      this.page.show(remote);
      return;
    }
    const arrived = () => this.promote(key);
    remote.consumer.track.addEventListener('unmute', arrived, { once: true });
    this.waiting.set(key, { remote, stopListening: () => remote.consumer.track.removeEventListener('unmute', arrived) });
    this.mark('trackSwapWaiting');
  }

  /**
   * The node closed this track's consumer. Answers whether the page showed it (the caller takes it
   * off); a successor waiting for it takes its place right after.
   */
  removed(remote: RemoteTrack): boolean {
    const key = trackKey(remote);
    const waiting = this.waiting.get(key);
    if (waiting?.remote === remote) {
      this.forget(key);
      return false;
    }
    return true;
  }

  /** After the caller took a closed track off the page: its waiting successor, if any, shows now. */
  afterRemoval(remote: RemoteTrack): void {
    const key = trackKey(remote);
    if (this.waiting.has(key) && !this.page.shown(key)) this.promote(key);
  }

  /** The session's tracks are gone (it closed): nothing waits any more. */
  clear(): void {
    for (const key of [...this.waiting.keys()]) this.forget(key);
  }

  private promote(key: string): void {
    const entry = this.waiting.get(key);
    if (!entry) return;
    this.forget(key);
    const shown = this.page.shown(key);
    if (shown) this.page.retire(shown);
    this.page.show(entry.remote);
    this.mark('trackSwapped');
  }

  private forget(key: string): void {
    this.waiting.get(key)?.stopListening();
    this.waiting.delete(key);
  }
}

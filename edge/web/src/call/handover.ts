import { trackKey, type RemoteTrack } from './remote-tracks.js';
import { untilPlaying } from './track-swap.js';

/**
 * How long the page keeps playing the session it is leaving while the new one waits for someone
 * who has not reached the new node yet (a slow machine can take seconds to publish there). After
 * that it switches anyway (that person's tile then waits for them on the new node). A frozen old
 * session does not wait for this (MediaLink.mediaStalled). The old node serves a moved meeting for
 * 20 s (MIGRATION_GRACE_MS, edge/registry/room-moves.ts), so waiting up to 15 s costs nothing
 * while the old session plays; at 8 s a loaded machine's drain switched early into a gap
 * (npm run bench:failover: new sessions took 12–30 s to show video at load 20–29).
 */
export const HANDOVER_LIMIT_MS = 15_000;

/** A remote track is flowing: the sender paused it (nothing to wait for), or packets arrive (the track unmuted). */
function flowing(remote: RemoteTrack): boolean {
  return remote.producerPaused || !remote.consumer.track.muted;
}

/**
 * Whether the new session's tracks can replace what the page shows: every track flowing on the
 * old node (another person's mic, camera, screen) has its counterpart on the new node playing
 * (`plays`; the handover asks for a decoded frame of video, untilPlaying).
 * A track with nothing arriving on the old node is not waited for: e.g. a voice the node holds
 * back because it is not among the loudest (top-N audio) never flows, on either node.
 */
export function covers(incoming: Iterable<RemoteTrack>, shown: Iterable<RemoteTrack>, plays: (remote: RemoteTrack) => boolean = flowing): boolean {
  const ready = new Set<string>();
  // A camera the page holds paused (off the grid page) is nothing to wait for, on either side:
  // the grid resumes it after the switch if its tile is on screen then.
  for (const remote of incoming) if (remote.pausedByPage || plays(remote)) ready.add(trackKey(remote));
  for (const remote of shown) if (!remote.pausedByPage && flowing(remote) && !ready.has(trackKey(remote))) return false;
  return true;
}

/**
 * Make-before-break (the meeting moved to another node: a drain, a rebalance): while the new
 * media session comes up, the old one keeps playing. The new session's remote tracks wait here —
 * not shown, not heard — until they cover what the old one shows, the old session dies (nothing
 * left to keep), or HANDOVER_LIMIT_MS passes; then the caller switches both at once.
 */
export class Handover {
  /** The new session's remote tracks, by consumer id, not yet on the page. */
  readonly incoming = new Map<string, RemoteTrack>();
  /** The old session died meanwhile (a crash noticed late): the page is reconnecting, not moving. */
  previousLost = false;
  private finish!: () => void;
  private finished = false;
  private readonly over: Promise<void>;
  /** Incoming tracks that play (audio arriving, video with a decoded frame: untilPlaying), by consumer id. */
  private readonly playing = new Set<string>();

  constructor(
    /** The generation of the session being left (its events are bound to it). */
    readonly previousGeneration: number,
    /** What the page shows now (the old session's remote tracks). */
    private readonly shown: () => Iterable<RemoteTrack>,
    /** Milestones for the failover timeline. */
    private readonly mark: (milestone: string) => void = () => undefined,
  ) {
    this.over = new Promise((resolve) => (this.finish = resolve));
  }

  add(remote: RemoteTrack): void {
    this.incoming.set(remote.consumer.id, remote);
    this.mark(`incoming${remote.kind === 'video' ? 'Video' : 'Audio'}`);
    // Switching to a video track at its first packet showed nothing until its key frame decoded.
    const plays = () => {
      if (this.finished || this.incoming.get(remote.consumer.id) !== remote) return;
      this.playing.add(remote.consumer.id);
      this.mark(`incoming${remote.kind === 'video' ? 'Video' : 'Audio'}Flowing`);
      this.check();
    };
    void untilPlaying(remote).then(plays, plays);
    this.check();
  }

  remove(remote: RemoteTrack): void {
    this.incoming.delete(remote.consumer.id);
    this.playing.delete(remote.consumer.id);
    this.check();
  }

  /** What the page shows changed (someone left the old node): maybe covered now. */
  check(): void {
    if (this.finished || !covers(this.incoming.values(), this.shown(), (remote) => remote.producerPaused || this.playing.has(remote.consumer.id))) return;
    this.mark('handoverCovered');
    this.end();
  }

  /** The old session died: switch as soon as the new one is ready. */
  onPreviousLost(): void {
    this.previousLost = true;
    this.end();
  }

  /** Superseded or the call ended: nobody waits any more. */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.finish();
  }

  /** Resolves once the new tracks cover the shown ones, the old session died, or the limit passed. */
  async untilReady(limitMs = HANDOVER_LIMIT_MS): Promise<void> {
    this.check();
    const timer = setTimeout(() => {
      if (!this.finished) this.mark('handoverTimedOut');
      this.end();
    }, limitMs);
    try {
      await this.over;
    } finally {
      clearTimeout(timer);
    }
  }
}

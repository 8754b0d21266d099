import { AudioSink } from './audio-sink.js';
import { trackKey, type RemoteTrack } from './remote-tracks.js';
import { TrackSwaps, untilPlaying } from './track-swap.js';

/** What the shown tracks need from the media link. */
export interface ShownTracksOwner {
  /** The set of shown tracks changed. */
  changed(): void;
  mark(milestone: string): void;
  /** Asks the node to stop (or resume) forwarding this consumer of the current session (it was replaced, or is back). */
  setPausedAtNode(consumerId: string, paused: boolean): void;
}

/**
 * The current session's remote tracks the page shows and plays: one per person's source (a newer
 * one replaces it once it plays: TrackSwaps), their audio on the page's sink.
 */
export class ShownTracks {
  /** By consumer id. */
  readonly byConsumer = new Map<string, RemoteTrack>();
  /** When each went on the page (performance.now()), by consumer id: a failover drill's recovery starts no earlier. */
  private readonly shownSince = new Map<string, number>();
  /** The same tracks by person's source (trackKey): a large room's join adds hundreds, each looked up here. */
  private readonly byKey = new Map<string, RemoteTrack>();
  private readonly audio = new AudioSink();
  private readonly swaps: TrackSwaps;

  constructor(private readonly owner: ShownTracksOwner) {
    this.swaps = new TrackSwaps(
      {
        shown: (key) => this.byKey.get(key),
        show: (remote) => this.show(remote),
        retire: (remote) => this.retire(remote),
        restore: (remote) => {
          // (One the grid holds paused, off its page, stays paused.)
          if (!remote.pausedByPage) this.owner.setPausedAtNode(remote.consumer.id, false);
          this.show(remote);
        },
        playing: (remote) => untilPlaying(remote),
      },
      (milestone) => owner.mark(milestone),
    );
  }

  /** When the page began to show this track (performance.now()), if it shows it. */
  shownAt(consumerId: string): number | undefined {
    return this.shownSince.get(consumerId);
  }

  /** A remote track of the current session arrived. */
  add(remote: RemoteTrack): void {
    this.swaps.add(remote);
  }

  /** The node closed one of the current session's remote tracks. */
  removed(remote: RemoteTrack): void {
    // A successor that never reached the page closed: nothing on the page changes.
    if (!this.swaps.removed(remote)) return;
    if (this.hide(remote)) this.owner.changed();
    this.swaps.afterRemoval(remote);
  }

  /** The call ended. */
  destroy(): void {
    this.audio.destroy();
    this.swaps.clear();
    this.byConsumer.clear();
    this.shownSince.clear();
    this.byKey.clear();
  }

  private show(remote: RemoteTrack): void {
    const kind = remote.kind === 'video' ? 'Video' : 'Audio';
    this.owner.mark(`first${kind}Consumer`);
    // Packets arriving (a remote track unmutes then): where a failover's time goes.
    if (remote.consumer.track.muted) remote.consumer.track.addEventListener('unmute', () => this.owner.mark(`remote${kind}Flowing`), { once: true });
    this.byConsumer.set(remote.consumer.id, remote);
    this.shownSince.set(remote.consumer.id, performance.now());
    this.byKey.set(trackKey(remote), remote);
    if (remote.kind === 'audio') this.audio.attach(remote.consumer.id, remote.consumer.track);
    this.owner.changed();
  }

  /** Replaced by a newer track of the same source: off the page, and the node stops forwarding it (it closes it soon). */
  private retire(remote: RemoteTrack): void {
    this.hide(remote);
    this.owner.setPausedAtNode(remote.consumer.id, true);
    this.owner.changed();
  }

  /** Off the page and unheard; false when it was not on the page. */
  private hide(remote: RemoteTrack): boolean {
    if (!this.byConsumer.delete(remote.consumer.id)) return false;
    this.shownSince.delete(remote.consumer.id);
    const key = trackKey(remote);
    if (this.byKey.get(key) === remote) this.byKey.delete(key);
    this.audio.detach(remote.consumer.id);
    return true;
  }
}

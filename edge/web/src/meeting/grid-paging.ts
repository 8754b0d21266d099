import type { RemoteTrack } from '../call/remote-tracks.js';
import { MAX_PINNED_PARTICIPANTS } from '../wire.js';
import { layoutPage, PAGE_SIZE, showsVideo, videoChanges, type PageLayout } from './paging.js';

/** What paging reads from the call and asks of it (the Call is one). */
export interface PagedCall {
  readonly participants: ReadonlyMap<string, { participantId: string; joinedAt: number; role?: string }>;
  readonly self: { participantId: string } | null;
  readonly remotes: ReadonlyMap<string, RemoteTrack>;
  readonly activeSpeaker: string | null;
  setPinned(participantIds: readonly string[]): void;
  showVideoOf(shown: (participantId: string) => boolean): void;
  setVideoPaused(remote: RemoteTrack, paused: boolean): void;
}

/**
 * The grid's page and this viewer's pins, kept in step with the call: the node hears of the pins
 * (setPinned), and only cameras on the page shown are forwarded (the others are paused at the
 * node). No DOM here: the grid draws `layout`.
 */
export class GridPaging {
  layout: PageLayout;
  private page = 0;
  private pins: string[] = [];

  constructor(
    private readonly call: PagedCall,
    private readonly pageSize = PAGE_SIZE,
  ) {
    this.layout = this.apply();
  }

  isPinned(participantId: string): boolean {
    return this.pins.includes(participantId);
  }

  /** Pins or unpins someone (false: the most pins are reached already). A pinned tile goes first, on page 1. */
  togglePin(participantId: string): boolean {
    if (this.isPinned(participantId)) {
      this.pins = this.pins.filter((id) => id !== participantId);
    } else {
      if (this.pins.length >= MAX_PINNED_PARTICIPANTS) return false;
      this.pins = [...this.pins, participantId];
      this.page = 0; // where the tile now is
    }
    this.sendPins();
    return true;
  }

  /** The next (+1) or previous (-1) page; `apply` clamps. */
  turnPage(by: number): void {
    this.page += by;
  }

  /** Lays out the page shown now and pauses or resumes cameras to match. */
  apply(): PageLayout {
    const call = this.call;
    const selfId = call.self?.participantId ?? null;
    const kept = this.pins.filter((id) => call.participants.has(id));
    if (kept.length !== this.pins.length) {
      // Someone pinned left: the node need not keep them.
      this.pins = kept;
      this.sendPins();
    }
    // The viewer first, then the others as they joined. A webinar's audience (attendees) has no
    // tile: the stage shows those who present, however many watch.
    const onStage = (person: { role?: string }) => person.role !== 'attendee';
    const self = selfId === null ? undefined : call.participants.get(selfId);
    const others = [...call.participants.values()].filter((person) => person.participantId !== selfId && onStage(person)).sort((a, b) => a.joinedAt - b.joinedAt);
    const participants = [...(self && onStage(self) ? [self.participantId] : []), ...others.map((person) => person.participantId)];
    this.layout = layoutPage({ participants, pinned: this.pins, activeSpeaker: call.activeSpeaker, page: this.page, pageSize: this.pageSize });
    this.page = this.layout.page;
    const shown = showsVideo(this.layout);
    call.showVideoOf(shown);
    const cameras = [...call.remotes.values()].filter((remote) => remote.source === 'camera');
    const { pause, resume } = videoChanges(cameras, shown);
    for (const remote of pause) call.setVideoPaused(remote, true);
    for (const remote of resume) call.setVideoPaused(remote, false);
    return this.layout;
  }

  private sendPins(): void {
    // The viewer's own tile can be pinned; the node has no audio of theirs to forward.
    const selfId = this.call.self?.participantId;
    this.call.setPinned(this.pins.filter((id) => id !== selfId));
  }
}

/**
 * Which tiles the grid shows, and so whose camera this page receives (issue 14: large rooms).
 * Pure: the grid and its tests feed it plain ids.
 */

/** Most tiles on one grid page: a 5×5 grid still shows faces; every tile more costs the viewer bandwidth and CPU. */
export const PAGE_SIZE = 25;

export interface PageInput {
  /** Everyone in the call in display order (the grid puts the viewer first, the others by join time). */
  participants: readonly string[];
  /** Pinned by this viewer, in pin order (ids no longer present are ignored). */
  pinned: readonly string[];
  activeSpeaker: string | null;
  /** The page asked for, from 0 (clamped to the pages there are). */
  page: number;
  pageSize?: number;
}

export interface PageLayout {
  /** The participants on this page, in display order. */
  tiles: string[];
  /** The page shown: the one asked for, clamped. */
  page: number;
  pageCount: number;
  /** Everyone laid out (on any page). */
  everyone: ReadonlySet<string>;
  /** Someone not laid out yet (just joined: joiners go last) would land on this page: the last one, with room. */
  roomForNewcomer: boolean;
}

/**
 * Pinned participants first, then everyone else in the given order; the active speaker moves
 * into page 1's last place when page 1 would not show them (the tiles already there stay put).
 */
export function tileOrder(participants: readonly string[], pinned: readonly string[], activeSpeaker: string | null, pageSize = PAGE_SIZE): string[] {
  const present = new Set(participants);
  const pins = [...new Set(pinned)].filter((id) => present.has(id));
  const pinSet = new Set(pins);
  const rest = participants.filter((id) => !pinSet.has(id));
  const firstPageRoom = Math.max(0, pageSize - pins.length);
  const at = activeSpeaker === null ? -1 : rest.indexOf(activeSpeaker);
  if (at >= firstPageRoom) {
    rest.splice(at, 1);
    rest.splice(Math.max(0, firstPageRoom - 1), 0, activeSpeaker!);
  }
  return [...pins, ...rest];
}

export function layoutPage(input: PageInput): PageLayout {
  const pageSize = Math.max(1, Math.floor(input.pageSize ?? PAGE_SIZE));
  const order = tileOrder(input.participants, input.pinned, input.activeSpeaker, pageSize);
  const pageCount = Math.max(1, Math.ceil(order.length / pageSize));
  const page = Math.min(Math.max(0, Math.floor(input.page) || 0), pageCount - 1);
  const tiles = order.slice(page * pageSize, (page + 1) * pageSize);
  return { tiles, page, pageCount, everyone: new Set(order), roomForNewcomer: page === pageCount - 1 && tiles.length < pageSize };
}

/** Whether the page shows this participant's camera: on this page, or new and bound for it. */
export function showsVideo(layout: PageLayout): (participantId: string) => boolean {
  const onPage = new Set(layout.tiles);
  return (participantId) => onPage.has(participantId) || (!layout.everyone.has(participantId) && layout.roomForNewcomer);
}

/** A remote camera as far as paging goes. */
export interface PagedVideo {
  participantId: string;
  /** The page holds it paused at the node now. */
  pausedByPage: boolean;
}

/** Which cameras to pause (their tile left the screen) and which to resume (it came on screen). */
export function videoChanges<T extends PagedVideo>(videos: Iterable<T>, shown: (participantId: string) => boolean): { pause: T[]; resume: T[] } {
  const pause: T[] = [];
  const resume: T[] = [];
  for (const video of videos) {
    const wanted = shown(video.participantId);
    if (wanted && video.pausedByPage) resume.push(video);
    else if (!wanted && !video.pausedByPage) pause.push(video);
  }
  return { pause, resume };
}

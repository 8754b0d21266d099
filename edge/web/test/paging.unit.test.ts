import { describe, expect, it } from 'vitest';
import { covers } from '../src/call/handover.js';
import type { RemoteTrack } from '../src/call/remote-tracks.js';
import { GridPaging, type PagedCall } from '../src/meeting/grid-paging.js';
import { layoutPage, PAGE_SIZE, showsVideo, tileOrder, videoChanges } from '../src/meeting/paging.js';
import { MAX_PINNED_PARTICIPANTS } from '../src/wire.js';

/**
 * Large rooms (issue 14 point 4): the grid shows a page of tiles, pinned people and the active
 * speaker on page 1, and the page receives only the cameras it shows.
 */
const ids = (count: number, from = 0) => Array.from({ length: count }, (_, index) => `person-${String(from + index).padStart(3, '0')}`);

describe('the order and pages of tiles', () => {
  it('pages of at most the page size, the count rounded up, at least one page', () => {
    const people = ids(60);
    const first = layoutPage({ participants: people, pinned: [], activeSpeaker: null, page: 0 });
    expect(first.tiles).toEqual(people.slice(0, PAGE_SIZE));
    expect(first.pageCount).toBe(Math.ceil(60 / PAGE_SIZE));
    expect(layoutPage({ participants: people, pinned: [], activeSpeaker: null, page: 2 }).tiles).toEqual(people.slice(2 * PAGE_SIZE));
    expect(layoutPage({ participants: [], pinned: [], activeSpeaker: null, page: 0 })).toMatchObject({ tiles: [], page: 0, pageCount: 1 });
  });

  it('a page past the end (people left) or before the first is clamped', () => {
    const people = ids(12);
    expect(layoutPage({ participants: people, pinned: [], activeSpeaker: null, page: 7, pageSize: 5 })).toMatchObject({ page: 2, tiles: people.slice(10) });
    expect(layoutPage({ participants: people, pinned: [], activeSpeaker: null, page: -3, pageSize: 5 })).toMatchObject({ page: 0, tiles: people.slice(0, 5) });
  });

  it('pinned people come first, in pin order; pins of people not present are ignored', () => {
    const people = ids(10);
    expect(tileOrder(people, [people[7]!, 'gone-person', people[3]!], null, 5)).toEqual([people[7], people[3], ...people.filter((id) => id !== people[7] && id !== people[3])]);
  });

  it('the active speaker moves to page 1 (its last place) only when page 1 would not show them', () => {
    const people = ids(12);
    // On page 1 already: nothing moves.
    expect(tileOrder(people, [], people[2]!, 5)).toEqual(people);
    // On page 3: takes page 1's last place; the one there moves to page 2.
    const order = tileOrder(people, [], people[11]!, 5);
    expect(order.slice(0, 5)).toEqual([...people.slice(0, 4), people[11]]);
    expect(order.slice(5, 6)).toEqual([people[4]]);
    // After the pins.
    expect(tileOrder(people, [people[9]!], people[10]!, 5).slice(0, 5)).toEqual([people[9], ...people.slice(0, 3), people[10]]);
    // Page 1 full of pins: the speaker opens page 2.
    expect(tileOrder(people, people.slice(5, 10), people[11]!, 5)[5]).toBe(people[11]);
  });

  it('shows the cameras of the page, and of a newcomer only when they would land on it', () => {
    const people = ids(7);
    const last = layoutPage({ participants: people, pinned: [], activeSpeaker: null, page: 1, pageSize: 5 });
    const shownOnLast = showsVideo(last);
    expect(shownOnLast(people[6]!)).toBe(true);
    expect(shownOnLast(people[0]!)).toBe(false);
    expect(shownOnLast('new-person')).toBe(true);
    const shownOnFirst = showsVideo(layoutPage({ participants: people, pinned: [], activeSpeaker: null, page: 0, pageSize: 5 }));
    expect(shownOnFirst(people[0]!)).toBe(true);
    expect(shownOnFirst('new-person')).toBe(false);
    // A full last page has no room either.
    expect(showsVideo(layoutPage({ participants: ids(10), pinned: [], activeSpeaker: null, page: 1, pageSize: 5 }))('new-person')).toBe(false);
  });

  it('pauses cameras that left the screen, resumes those that came on, leaves the rest', () => {
    const shown = (id: string) => id === 'on-screen-1' || id === 'on-screen-2';
    const videos = [
      { participantId: 'on-screen-1', pausedByPage: true },
      { participantId: 'on-screen-2', pausedByPage: false },
      { participantId: 'off-screen-1', pausedByPage: false },
      { participantId: 'off-screen-2', pausedByPage: true },
    ];
    expect(videoChanges(videos, shown)).toEqual({ resume: [videos[0]], pause: [videos[2]] });
  });
});

/** A call as paging sees it: people, remote tracks, and what paging asked of it. */
function fakeCall(people: string[], selfId = people[0]!) {
  const remotes = new Map<string, RemoteTrack>();
  for (const participantId of people) {
    if (participantId === selfId) continue;
    for (const source of ['mic', 'camera'] as const) {
      const id = `${participantId}-${source}`;
      remotes.set(id, { consumer: { id }, participantId, source, kind: source === 'mic' ? 'audio' : 'video', pausedByPage: false, producerPaused: false } as unknown as RemoteTrack);
    }
  }
  const asked = { pinned: [] as string[][], paused: [] as string[], resumed: [] as string[] };
  const call: PagedCall & { activeSpeaker: string | null; shown: (id: string) => boolean } = {
    participants: new Map(people.map((participantId, index) => [participantId, { participantId, joinedAt: index }])),
    self: { participantId: selfId },
    remotes,
    activeSpeaker: null,
    shown: () => true,
    setPinned: (list) => void asked.pinned.push([...list]),
    showVideoOf(shown) {
      this.shown = shown;
    },
    setVideoPaused(remote, paused) {
      remote.pausedByPage = paused;
      (paused ? asked.paused : asked.resumed).push(remote.consumer.id);
    },
  };
  return { call, remotes, asked };
}

describe('the grid paging with a call', () => {
  it('pauses every camera off page 1, never a microphone; turning the page swaps which are paused', () => {
    const people = ids(8);
    const { call, asked } = fakeCall(people);
    const paging = new GridPaging(call, 5);
    // The viewer and the next four are on page 1.
    expect(paging.layout.tiles).toEqual(people.slice(0, 5));
    expect(asked.paused.sort()).toEqual(people.slice(5).map((id) => `${id}-camera`));
    expect(asked.resumed).toEqual([]);
    asked.paused.length = 0;
    paging.turnPage(1);
    paging.apply();
    expect(paging.layout.tiles).toEqual(people.slice(5));
    expect(asked.resumed.sort()).toEqual(people.slice(5).map((id) => `${id}-camera`));
    expect(asked.paused.sort()).toEqual(people.slice(1, 5).map((id) => `${id}-camera`));
    // Nothing changed: nothing asked.
    asked.paused.length = asked.resumed.length = 0;
    paging.apply();
    expect([...asked.paused, ...asked.resumed]).toEqual([]);
  });

  it('pinning sends the pins (not the viewer) and shows the pinned tile first on page 1; unpinning sends the rest', () => {
    const people = ids(8);
    const { call, asked } = fakeCall(people);
    const paging = new GridPaging(call, 5);
    paging.turnPage(1);
    paging.apply();
    expect(paging.togglePin(people[6]!)).toBe(true);
    expect(paging.togglePin(people[0]!)).toBe(true);
    expect(asked.pinned).toEqual([[people[6]], [people[6]]]);
    paging.apply();
    expect(paging.layout).toMatchObject({ page: 0, tiles: [people[6], people[0], ...people.slice(1, 4)] });
    expect(call.remotes.get(`${people[6]}-camera`)?.pausedByPage).toBe(false);
    expect(paging.togglePin(people[6]!)).toBe(true);
    expect(asked.pinned.at(-1)).toEqual([]);
  });

  it('refuses more pins than the node takes', () => {
    const people = ids(MAX_PINNED_PARTICIPANTS + 3);
    const { call, asked } = fakeCall(people);
    const paging = new GridPaging(call);
    for (const id of people.slice(1, MAX_PINNED_PARTICIPANTS + 1)) expect(paging.togglePin(id)).toBe(true);
    expect(paging.togglePin(people.at(-1)!)).toBe(false);
    expect(asked.pinned.at(-1)).toHaveLength(MAX_PINNED_PARTICIPANTS);
    expect(paging.isPinned(people.at(-1)!)).toBe(false);
  });

  it('a pinned person who leaves is unpinned at the node too', () => {
    const people = ids(4);
    const { call, asked } = fakeCall(people);
    const paging = new GridPaging(call);
    paging.togglePin(people[2]!);
    (call.participants as Map<string, unknown>).delete(people[2]!);
    paging.apply();
    expect(asked.pinned.at(-1)).toEqual([]);
    expect(paging.isPinned(people[2]!)).toBe(false);
  });

  it('a speaker from a later page comes onto page 1 and their camera is resumed; whoever they displace is paused', () => {
    const people = ids(8);
    const { call, asked } = fakeCall(people);
    const paging = new GridPaging(call, 5);
    asked.paused.length = 0;
    call.activeSpeaker = people[7]!;
    paging.apply();
    expect(paging.layout.tiles).toEqual([...people.slice(0, 4), people[7]]);
    expect(asked.resumed).toEqual([`${people[7]}-camera`]);
    expect(asked.paused).toEqual([`${people[4]}-camera`]);
  });

  it('tells the call which cameras a new consumer may start with', () => {
    const { call } = fakeCall(ids(8));
    new GridPaging(call, 5);
    expect(call.shown('person-001')).toBe(true);
    expect(call.shown('person-006')).toBe(false);
    expect(call.shown('someone-new')).toBe(false);
  });
});

describe('a move between nodes with cameras off the page', () => {
  const camera = (participantId: string, fields: { muted: boolean; pausedByPage: boolean }) =>
    ({ participantId, source: 'camera', producerPaused: false, pausedByPage: fields.pausedByPage, consumer: { track: { muted: fields.muted } } }) as unknown as RemoteTrack;

  it('does not wait for a camera the page holds paused, on the old node or the new', () => {
    // Off the page on the old node (its track may still read unmuted): nothing to wait for.
    expect(covers([], [camera('person-001', { muted: false, pausedByPage: true })])).toBe(true);
    // Held on the new node (never resumed), shown on the old: the grid resumes it after the switch.
    expect(covers([camera('person-001', { muted: true, pausedByPage: true })], [camera('person-001', { muted: false, pausedByPage: false })])).toBe(true);
    // A camera on the page still waits for its counterpart to flow.
    expect(covers([camera('person-001', { muted: true, pausedByPage: false })], [camera('person-001', { muted: false, pausedByPage: false })])).toBe(false);
  });
});

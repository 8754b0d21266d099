import type { CompositeLayout } from './types.js';

/** A dominant-speaker change seen while recording, on the composite timeline (seconds from its start). */
export interface SpeakerChange {
  atSec: number;
  participantId: string;
}

/** Who has the big tile from `from` to `to` (seconds, half-open). */
export interface SpeakerSpan {
  from: number;
  to: number;
  tile: string;
}

/**
 * A speaker must hold the floor this long to take the big tile: a cough or a word of assent does
 * not flip the layout (it would flicker, and each span costs the graph a term).
 */
export const MIN_SPEAKER_HOLD_SEC = 1;

const cameraTile = (participantId: string) => `${participantId}:camera`;

/**
 * The big tile over time from the speaker changes: each change to someone with a camera tile in
 * the composite switches it at that moment; a change to someone without one (audio only) keeps
 * the last speaker shown. The first speaker shown also covers the time before the first change
 * (the window starts with someone on screen), and the last one runs to the end. Spans shorter than
 * MIN_SPEAKER_HOLD_SEC go to the speaker before them (the first one: to the one after).
 */
export function speakerTimeline(changes: readonly SpeakerChange[], tiles: readonly string[], durationSec: number): SpeakerSpan[] {
  const shown = new Set(tiles);
  const spans: SpeakerSpan[] = [];
  for (const change of [...changes].sort((a, b) => a.atSec - b.atSec)) {
    const tile = cameraTile(change.participantId);
    if (!shown.has(tile)) continue;
    const at = Math.min(Math.max(0, change.atSec), durationSec);
    const open = spans.at(-1);
    if (open?.tile === tile) continue;
    if (open && open.from >= at) spans.pop(); // same instant (or all before the start): the later change wins
    else if (open) open.to = at;
    const before = spans.at(-1);
    if (before?.tile === tile) before.to = durationSec; // back to whoever was shown before the popped one
    else spans.push({ from: spans.length === 0 ? 0 : at, to: durationSec, tile });
  }
  // Absorb short spans into a neighbour, then join neighbours that now show the same tile.
  for (let i = 0; i < spans.length && spans.length > 1; ) {
    const span = spans[i]!;
    if (span.to - span.from >= MIN_SPEAKER_HOLD_SEC) {
      i += 1;
      continue;
    }
    if (i === 0) spans[1]!.from = span.from;
    else spans[i - 1]!.to = span.to;
    spans.splice(i, 1);
    if (i > 0 && spans[i]?.tile === spans[i - 1]!.tile) {
      spans[i - 1]!.to = spans[i]!.to;
      spans.splice(i, 1);
    }
    if (i > 0) i -= 1; // the merged neighbour may itself now be long enough, or still short
  }
  return spans.filter((span) => span.to > span.from);
}

export interface Cell {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface SpeakerCells {
  /** Where the active speaker is shown (the canvas above the strip). */
  big: Cell;
  /** Every camera tile's thumbnail, in the strip along the bottom, in tile order. */
  strip: Cell[];
}

const even = (value: number) => Math.max(2, Math.floor(value / 2) * 2);

/**
 * Active-speaker geometry: a strip of thumbnails along the bottom (a quarter of the height, 16:9
 * cells, centred; narrower cells when many), the big tile filling the canvas above it. Every
 * camera keeps its thumbnail, the speaker's included, so the strip never changes: only the big
 * tile switches (the cheapest graph: one timeline-enabled overlay per speaker).
 */
export function speakerCells(count: number, layout: CompositeLayout): SpeakerCells {
  const stripHeight = even(layout.height / 4);
  const w = even(Math.min((stripHeight * 16) / 9, layout.width / Math.max(1, count)));
  const h = even(Math.min(stripHeight, (w * 9) / 16));
  const left = even((layout.width - w * count) / 2);
  return {
    big: { x: 0, y: 0, w: layout.width, h: layout.height - stripHeight },
    strip: Array.from({ length: count }, (_, i) => ({ x: left + i * w, y: layout.height - stripHeight + (stripHeight - h) / 2, w, h })),
  };
}

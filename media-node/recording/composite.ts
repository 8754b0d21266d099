import { speakerCells, speakerTimeline, type Cell, type SpeakerChange, type SpeakerSpan } from './speaker-layout.js';
import type { CompositeLayout } from './types.js';

/** One captured file placed on the composite timeline. */
export interface CompositeInput {
  path: string;
  kind: 'audio' | 'video';
  /** Video tiles are per (participant, source); segments of one track share a tile. */
  tile: string;
  /** Seconds from the recording's start to the file's first packet (negative: it began before). */
  offsetSec: number;
  /** Video only: spans (recording seconds) the track was paused inside this file: shown black. */
  hidden?: Array<{ from: number; to: number }>;
}

/** 4×4 at most: past that a 720p cell is smaller than a thumbnail, and every tile costs a decoder. */
export const DEFAULT_LAYOUT: CompositeLayout = { width: 1280, height: 720, fps: 25, maxTiles: 16 };

export interface GridCell {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Near-square grid: cols = ceil(sqrt(n)); cells even-sized so yuv420p scaling stays exact. */
export function gridCells(count: number, layout: CompositeLayout): GridCell[] {
  if (count === 0) return [];
  const cols = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / cols);
  const w = Math.floor(layout.width / cols / 2) * 2;
  const h = Math.floor(layout.height / rows / 2) * 2;
  return Array.from({ length: count }, (_, i) => ({ x: (i % cols) * w, y: Math.floor(i / cols) * h, w, h }));
}

const seconds = (value: number) => Math.max(0, value).toFixed(3);

/**
 * Timestamps from 0, then placed at the offset; a file that began before the recording (its
 * packets flowed while the others were still starting) loses its head instead of shifting.
 */
function placeOnTimeline(offsetSec: number, setpts: 'setpts' | 'asetpts'): string {
  if (offsetSec >= 0) return `${setpts}=PTS-STARTPTS+${seconds(offsetSec)}/TB`;
  const trim = setpts === 'setpts' ? 'trim' : 'atrim';
  return `${setpts}=PTS-STARTPTS,${trim}=start=${seconds(-offsetSec)},${setpts}=PTS-STARTPTS`;
}

/**
 * overlay's timeline option: off (tile not drawn → black) inside the hidden spans, and, for the
 * big tile, outside the spans its owner is the active speaker (half-open: one owner per frame).
 */
function overlayEnable(hidden: CompositeInput['hidden'], shownDuring?: readonly SpeakerSpan[]): string {
  const terms: string[] = [];
  if (shownDuring) terms.push(`(${shownDuring.map((s) => `gte(t,${seconds(s.from)})*lt(t,${seconds(s.to)})`).join('+')})`);
  if (hidden && hidden.length > 0) terms.push(`not(${hidden.map((h) => `between(t,${seconds(h.from)},${seconds(h.to)})`).join('+')})`);
  return terms.length === 0 ? '' : `:enable='${terms.join('*')}'`;
}

const isScreen = (tile: string) => tile.endsWith(':screen');

/**
 * Which layout the composite uses: 'speaker' (the active speaker big, everyone in a strip) when
 * speaker changes were recorded and two or more cameras are shown; 'grid' when a screen share is
 * in the recording (the share needs the room), with one camera, or without speaker events.
 */
export function planLayout(tiles: readonly string[], speakers: readonly SpeakerChange[], durationSec: number): { kind: 'grid' } | { kind: 'speaker'; spans: SpeakerSpan[] } {
  if (tiles.some(isScreen) || tiles.length < 2) return { kind: 'grid' };
  const spans = speakerTimeline(speakers, tiles, durationSec);
  return spans.length > 0 ? { kind: 'speaker', spans } : { kind: 'grid' };
}

/**
 * The video tiles the composite shows: screen shares first, then cameras in the order their
 * tracks were captured (the manifest's order: who published first).
 */
export function chooseTiles(inputs: readonly CompositeInput[], maxTiles: number): string[] {
  const order = [...new Set(inputs.filter((input) => input.kind === 'video').map((input) => input.tile))];
  return [...order.filter(isScreen), ...order.filter((tile) => !isScreen(tile))].slice(0, Math.max(0, maxTiles));
}

/**
 * When a later file of the same voice (participant and source) starts, if one does: from then on
 * that one is heard, never both. A participant who moved to another node republished there while
 * the relay of their old producer ran on a moment (SUPERSEDED_GRACE_MS, edge/room/cascade.ts): both
 * were captured, and mixing both played that voice twice (+6 dB, an echo when out of step).
 */
function voiceTakenOverAt(input: CompositeInput, inputs: readonly CompositeInput[]): number | null {
  let cut: number | null = null;
  for (const other of inputs) {
    if (other.kind === 'audio' && other.tile === input.tile && other.offsetSec > input.offsetSec) cut = Math.min(cut ?? Infinity, other.offsetSec);
  }
  return cut;
}

/**
 * ffmpeg arguments for the composite: video tiles overlaid on a black canvas at their cell (see
 * planLayout: a grid, or the active-speaker layout following `speakers`) from their offset on
 * (black while the track was paused, dropped once it ended), all
 * audio gap-filled (aresample async) and padded from 0 so amix lines samples up by time, then
 * H.264 + AAC in MP4 with the index up front (plays while it downloads, seeks with Range).
 */
export function compositeArgs(
  allInputs: CompositeInput[],
  durationSec: number,
  output: string,
  layout: CompositeLayout = DEFAULT_LAYOUT,
  speakers: readonly SpeakerChange[] = [],
): string[] {
  // Tracks beyond the tile cap are left out of the composite (not even opened); their files stay.
  const tiles = chooseTiles(allInputs, layout.maxTiles);
  const inputs = allInputs.filter((input) => input.kind === 'audio' || tiles.includes(input.tile));
  const args: string[] = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];
  // A simulcast track changes resolution when its layer does (it starts low: rooms/layer-start.ts).
  // ffmpeg would rebuild the whole graph for it, and the rebuilt audio mix loses what follows;
  // the scale filters take the new size as it comes.
  for (const input of inputs) args.push(...(input.kind === 'video' ? ['-reinit_filter', '0'] : []), '-i', input.path);
  const filters: string[] = [];
  const duration = seconds(durationSec);

  const plan = planLayout(tiles, speakers, durationSec);
  const speakerView = plan.kind === 'speaker' ? speakerCells(tiles.length, layout) : null;
  const cells = speakerView?.strip ?? gridCells(tiles.length, layout);
  filters.push(`color=c=black:s=${layout.width}x${layout.height}:r=${layout.fps}:d=${duration}[vbase]`);
  let videoLabel = 'vbase';
  // Scaled to fit its cell and centred there (the canvas is the black around it: no pad to copy).
  const fit = (cell: Cell) => `scale=${cell.w}:${cell.h}:force_original_aspect_ratio=decrease:flags=fast_bilinear,setsar=1`;
  const place = (label: string, cell: Cell, enable: string, out: string) => {
    filters.push(`[${videoLabel}][${label}]overlay=x=${cell.x}+(${cell.w}-w)/2:y=${cell.y}+(${cell.h}-h)/2:eof_action=pass${enable}[${out}]`);
    videoLabel = out;
  };
  inputs.forEach((input, index) => {
    if (input.kind !== 'video') return;
    const cell = cells[tiles.indexOf(input.tile)];
    if (!cell) return;
    const onTimeline = `[${index}:v]${placeOnTimeline(input.offsetSec, 'setpts')}`;
    const speaking = plan.kind === 'speaker' ? plan.spans.filter((span) => span.tile === input.tile) : [];
    if (!speakerView || speaking.length === 0) {
      filters.push(`${onTimeline},${fit(cell)}[t${index}]`);
      place(`t${index}`, cell, overlayEnable(input.hidden), `o${index}`);
      return;
    }
    // A speaker's frames go both to its thumbnail and to the big tile, drawn only while it speaks.
    filters.push(`${onTimeline},split=2[s${index}][r${index}]`, `[s${index}]${fit(cell)}[t${index}]`, `[r${index}]${fit(speakerView.big)}[b${index}]`);
    place(`t${index}`, cell, overlayEnable(input.hidden), `o${index}`);
    place(`b${index}`, speakerView.big, overlayEnable(input.hidden, speaking), `ob${index}`);
  });
  filters.push(`[${videoLabel}]format=yuv420p[vout]`);

  const audio = inputs.map((input, index) => ({ input, index })).filter(({ input }) => input.kind === 'audio');
  filters.push(`anullsrc=r=48000:cl=stereo,atrim=0:${duration}[abase]`);
  for (const { input, index } of audio) {
    const cut = voiceTakenOverAt(input, inputs);
    filters.push(
      `[${index}:a]aformat=sample_rates=48000:channel_layouts=stereo,` +
        `${placeOnTimeline(input.offsetSec, 'asetpts')},${cut === null ? '' : `atrim=end=${seconds(cut)},`}aresample=48000:async=1:first_pts=0[a${index}]`,
    );
  }
  const mixInputs = ['[abase]', ...audio.map(({ index }) => `[a${index}]`)].join('');
  filters.push(`${mixInputs}amix=inputs=${audio.length + 1}:duration=first:dropout_transition=0:normalize=0[aout]`);

  args.push(
    '-filter_complex', filters.join(';'), '-filter_complex_threads', '1',
    '-map', '[vout]', '-map', '[aout]',
    ...COMPOSITE_ENCODE_ARGS(layout),
    '-t', duration, '-movflags', '+faststart', '-f', 'mp4', output,
  );
  return args;
}

/** Past this, the graph goes to ffmpeg in a file (one argument may hold at most 128 KiB on Linux). */
export const GRAPH_ARG_MAX = 60_000;

/**
 * The composite's arguments with a long graph (a long meeting's many speaker changes) moved to
 * `graphFile` (-filter_complex_script); `graph` is what to write there, null when none is needed.
 */
export function withGraphFile(args: string[], graphFile: string): { args: string[]; graph: string | null } {
  const at = args.indexOf('-filter_complex');
  const graph = at >= 0 ? args[at + 1]! : '';
  if (graph.length <= GRAPH_ARG_MAX) return { args, graph: null };
  return { args: [...args.slice(0, at), '-filter_complex_script', graphFile, ...args.slice(at + 2)], graph };
}

/**
 * The composite's encoders, on one core (the node's other cores serve live meetings). x264 is
 * ~70 % of the composite's CPU, and at 'veryfast' even a plain 720p transcode runs at only ~2×
 * real time per core; 'ultrafast' with CABAC and the deblocking filter put back is ~2× cheaper
 * for a larger file (~1.5–2×) of similar look. AAC's fast coder: a third of the default's CPU.
 */
export const COMPOSITE_ENCODE_ARGS = (layout: CompositeLayout): string[] => [
  '-c:v', 'libx264', '-preset', 'ultrafast', '-x264-params', 'cabac=1:deblock=0', '-crf', '26', '-g', String(layout.fps * 2), '-threads', '1',
  '-c:a', 'aac', '-aac_coder', 'fast', '-b:a', '128k',
];

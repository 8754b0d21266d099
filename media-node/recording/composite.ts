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

/** overlay's timeline option: off (tile not drawn → black) inside the hidden spans. */
function overlayEnable(hidden: CompositeInput['hidden']): string {
  if (!hidden || hidden.length === 0) return '';
  return `:enable='not(${hidden.map((h) => `between(t,${seconds(h.from)},${seconds(h.to)})`).join('+')})'`;
}

/**
 * The video tiles the composite shows: screen shares first, then cameras in the order their
 * tracks were captured (the manifest's order: who published first).
 */
export function chooseTiles(inputs: readonly CompositeInput[], maxTiles: number): string[] {
  const order = [...new Set(inputs.filter((input) => input.kind === 'video').map((input) => input.tile))];
  const isScreen = (tile: string) => tile.endsWith(':screen');
  return [...order.filter(isScreen), ...order.filter((tile) => !isScreen(tile))].slice(0, Math.max(0, maxTiles));
}

/**
 * ffmpeg arguments for the composite: video tiles overlaid on a black canvas at their grid cell
 * from their offset on (black while the track was paused, dropped once it ended), all
 * audio gap-filled (aresample async) and padded from 0 so amix lines samples up by time, then
 * H.264 + AAC in MP4 with the index up front (plays while it downloads, seeks with Range).
 */
export function compositeArgs(allInputs: CompositeInput[], durationSec: number, output: string, layout: CompositeLayout = DEFAULT_LAYOUT): string[] {
  // Tracks beyond the tile cap are left out of the composite (not even opened); their files stay.
  const tiles = chooseTiles(allInputs, layout.maxTiles);
  const inputs = allInputs.filter((input) => input.kind === 'audio' || tiles.includes(input.tile));
  const args: string[] = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];
  for (const input of inputs) args.push('-i', input.path);
  const filters: string[] = [];
  const duration = seconds(durationSec);

  const cells = gridCells(tiles.length, layout);
  filters.push(`color=c=black:s=${layout.width}x${layout.height}:r=${layout.fps}:d=${duration}[vbase]`);
  let videoLabel = 'vbase';
  inputs.forEach((input, index) => {
    if (input.kind !== 'video') return;
    const cell = cells[tiles.indexOf(input.tile)];
    if (!cell) return;
    // Scaled to fit its cell and centred there (the canvas is the black around it: no pad to copy).
    filters.push(`[${index}:v]${placeOnTimeline(input.offsetSec, 'setpts')},scale=${cell.w}:${cell.h}:force_original_aspect_ratio=decrease:flags=fast_bilinear,setsar=1[t${index}]`);
    filters.push(`[${videoLabel}][t${index}]overlay=x=${cell.x}+(${cell.w}-w)/2:y=${cell.y}+(${cell.h}-h)/2:eof_action=pass${overlayEnable(input.hidden)}[o${index}]`);
    videoLabel = `o${index}`;
  });
  filters.push(`[${videoLabel}]format=yuv420p[vout]`);

  const audio = inputs.map((input, index) => ({ input, index })).filter(({ input }) => input.kind === 'audio');
  filters.push(`anullsrc=r=48000:cl=stereo,atrim=0:${duration}[abase]`);
  for (const { input, index } of audio) {
    filters.push(
      `[${index}:a]aformat=sample_rates=48000:channel_layouts=stereo,` +
        `${placeOnTimeline(input.offsetSec, 'asetpts')},aresample=48000:async=1:first_pts=0[a${index}]`,
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

/**
 * What one room costs a media node, by its number of participants: consumers (everyone receives
 * everyone's audio and video, as the node does today), bitrate in and out (simulcast up, one large
 * and the rest as thumbnails down, the loudest N audio streams), and memory.
 */
export interface Bitrates {
  /** Simulcast layers a camera sends (kbit/s), lowest first: edge/web media-session encodings. */
  videoLayersKbps: readonly number[];
  audioKbps: number;
  /** Audio streams a receiver actually gets (top-N by loudness); the rest are paused. */
  topNAudio: number;
}

export const DEFAULT_BITRATES: Bitrates = { videoLayersKbps: [150, 500, 1_500], audioKbps: 40, topNAudio: 3 };

export interface RoomLoad {
  participants: number;
  consumers: number;
  kbpsIn: number;
  kbpsOut: number;
}

export function consumersOf(participants: number): number {
  return 2 * participants * (participants - 1);
}

export function roomLoad(participants: number, bitrates: Bitrates = DEFAULT_BITRATES): RoomLoad {
  const layers = bitrates.videoLayersKbps;
  const sent = layers.reduce((sum, kbps) => sum + kbps, 0) + bitrates.audioKbps;
  const others = Math.max(0, participants - 1);
  // The speaker (or the only other person) in the top layer, everyone else as a thumbnail.
  const video = others === 0 ? 0 : layers[layers.length - 1]! + (others - 1) * layers[0]!;
  const received = video + Math.min(others, bitrates.topNAudio) * bitrates.audioKbps;
  return { participants, consumers: consumersOf(participants), kbpsIn: participants * sent, kbpsOut: participants * received };
}

/** Probability of each size under minimum + Poisson(mean − minimum), up to where the tail vanishes. */
export function sizeDistribution(mean: number, minimum: number): { size: number; p: number }[] {
  const lambda = mean - minimum;
  const out: { size: number; p: number }[] = [];
  let p = Math.exp(-lambda);
  for (let k = 0; k < 400 && (k <= lambda || p > 1e-12); k++) {
    out.push({ size: minimum + k, p });
    p *= lambda / (k + 1);
  }
  return out;
}

/** The average room of the model (expected consumers, bitrate, participants). */
export function meanRoomLoad(mean: number, minimum: number, bitrates: Bitrates = DEFAULT_BITRATES): RoomLoad {
  const total = { participants: 0, consumers: 0, kbpsIn: 0, kbpsOut: 0 };
  for (const { size, p } of sizeDistribution(mean, minimum)) {
    const load = roomLoad(size, bitrates);
    total.participants += p * load.participants;
    total.consumers += p * load.consumers;
    total.kbpsIn += p * load.kbpsIn;
    total.kbpsOut += p * load.kbpsOut;
  }
  return total;
}

/** The silence floor of the ssrc-audio-level extension (dBov): what an unreported producer counts as. */
export const SILENT_DBOV = -127;

/**
 * Reports a producer may be missing from before it counts as silent: packets late by a few
 * hundred ms (jitter, a busy host) must not hand a speaker's place to someone quieter.
 */
const MISSED_REPORTS_TOLERATED = 2;

export interface SpeakerSelectionOptions {
  /** How many producers are selected (the N loudest). */
  count: number;
  /** A selected producer stays at least this long before a louder one may take its place. */
  holdMs: number;
  /** A newcomer must be this much louder (smoothed, dB) than the quietest selected one to replace it. Default 6. */
  marginDb?: number;
  /** A newcomer must be at least this loud (smoothed, dBov) to replace anyone: noise never does. Default -80. */
  floorDbov?: number;
  /** Weight of the newest report in the smoothed level (0..1]. Default 0.3. */
  smoothing?: number;
}

interface Entry {
  /** Smoothed level (dBov, SILENT_DBOV..0). */
  level: number;
  /** Consecutive reports it was missing from. */
  missed: number;
  /** When it entered the selection (undefined: not selected). */
  selectedAt: number | undefined;
  /** A paused producer (a muted mic) holds no place: anyone unmuted goes first. */
  eligible: boolean;
}

/**
 * Which audio producers are the N loudest, with hysteresis so the set does not flap: levels are
 * smoothed over reports, a newcomer must beat the quietest selected producer by a margin, and a
 * selected producer keeps its place for a minimum hold. Free places are filled at once (in a room
 * with N or fewer producers everyone is selected), so a small meeting never waits to be heard.
 * Pure: fed with the audio level observer's reports and a clock.
 */
export class SpeakerSelection {
  private readonly entries = new Map<string, Entry>();
  private readonly marginDb: number;
  private readonly floorDbov: number;
  private readonly smoothing: number;

  constructor(private readonly options: SpeakerSelectionOptions) {
    this.marginDb = options.marginDb ?? 6;
    this.floorDbov = options.floorDbov ?? -80;
    this.smoothing = options.smoothing ?? 0.3;
  }

  has(producerId: string): boolean {
    return this.entries.get(producerId)?.selectedAt !== undefined;
  }

  selected(): string[] {
    return [...this.entries].filter(([, entry]) => entry.selectedAt !== undefined).map(([id]) => id);
  }

  /** A new audio producer: selected at once while there is a free place (unless paused). True when selected. */
  add(producerId: string, now: number, eligible = true): boolean {
    if (this.entries.has(producerId)) return this.has(producerId);
    const entry: Entry = { level: SILENT_DBOV, missed: 0, selectedAt: undefined, eligible };
    this.entries.set(producerId, entry);
    if (eligible && this.selectedCount() < this.options.count) entry.selectedAt = now;
    return entry.selectedAt !== undefined;
  }

  /**
   * A producer paused (ineligible: it gives up its place to the loudest unpaused one) or resumed
   * (eligible: it takes a free place, or competes by level). True when the selection changed.
   */
  setEligible(producerId: string, eligible: boolean, now: number): boolean {
    const entry = this.entries.get(producerId);
    if (!entry || entry.eligible === eligible) return false;
    entry.eligible = eligible;
    const wasSelected = entry.selectedAt !== undefined;
    if (!eligible) entry.selectedAt = undefined;
    // A place held by a paused producer goes to an unpaused one even if none is louder.
    return this.fillFreePlaces(now) || wasSelected !== (entry.selectedAt !== undefined);
  }

  /** A producer is gone; its place goes to the loudest other producer. True when the selection changed. */
  remove(producerId: string, now: number): boolean {
    const entry = this.entries.get(producerId);
    this.entries.delete(producerId);
    if (entry?.selectedAt === undefined) return false;
    this.fillFreePlaces(now);
    return true;
  }

  /**
   * One report: `volumes` (dBov) of the producers heard above the observer's threshold; every
   * other producer counts as silent. True when the selection changed.
   */
  report(volumes: ReadonlyMap<string, number>, now: number): boolean {
    for (const [id, entry] of this.entries) {
      const volume = volumes.get(id);
      entry.missed = volume === undefined ? entry.missed + 1 : 0;
      if (entry.missed > 0 && entry.missed <= MISSED_REPORTS_TOLERATED) continue;
      entry.level += this.smoothing * ((volume ?? SILENT_DBOV) - entry.level);
    }
    let changed = this.fillFreePlaces(now);
    // Swap the loudest waiting producer with the quietest replaceable selected one while it wins clearly.
    for (;;) {
      const challenger = this.loudest((entry) => entry.eligible && entry.selectedAt === undefined && entry.level >= this.floorDbov);
      const holder = this.quietest((entry) => entry.selectedAt !== undefined && now - entry.selectedAt >= this.options.holdMs);
      if (!challenger || !holder || challenger[1].level < holder[1].level + this.marginDb) break;
      holder[1].selectedAt = undefined;
      challenger[1].selectedAt = now;
      changed = true;
    }
    return changed;
  }

  private selectedCount(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.selectedAt !== undefined) count++;
    return count;
  }

  private fillFreePlaces(now: number): boolean {
    let changed = false;
    while (this.selectedCount() < this.options.count) {
      const next = this.loudest((entry) => entry.eligible && entry.selectedAt === undefined);
      if (!next) break;
      next[1].selectedAt = now;
      changed = true;
    }
    return changed;
  }

  private loudest(filter: (entry: Entry) => boolean): [string, Entry] | undefined {
    let best: [string, Entry] | undefined;
    for (const item of this.entries) if (filter(item[1]) && (!best || item[1].level > best[1].level)) best = item;
    return best;
  }

  private quietest(filter: (entry: Entry) => boolean): [string, Entry] | undefined {
    let best: [string, Entry] | undefined;
    for (const item of this.entries) if (filter(item[1]) && (!best || item[1].level < best[1].level)) best = item;
    return best;
  }
}

import type { types } from 'mediasoup';
import { SpeakerSelection, type SpeakerSelectionOptions } from './speaker-selection.js';

export interface AudioSelectionOptions {
  /** Each participant hears the N loudest speakers (plus the ones it pins); 0: everyone. */
  topN: number;
  /** A selected speaker keeps its place at least this long (hysteresis). */
  holdMs: number;
}

export const DEFAULT_AUDIO_SELECTION: AudioSelectionOptions = { topN: 3, holdMs: 1_000 };

/** How often the worker reports audio levels (ms): short enough that a new speaker is heard within a second. */
const REPORT_INTERVAL_MS = 300;

/**
 * Top-N audio of one room: mediasoup's AudioLevelObserver on the room's first router (every
 * producer of the meeting, local or relayed, is there) feeds two selections with hysteresis, the
 * N and the N+1 loudest. A listener who is not among the N loudest hears those N; one who is
 * hears the N+1 loudest but itself — N others either way, so a meeting of N+1 hears everyone.
 * `onChange` runs when a selection changed, so the room pauses and resumes consumers.
 */
export class AudioSelection {
  private readonly loudest: SpeakerSelection;
  private readonly withRunnerUp: SpeakerSelection;

  private constructor(
    private readonly observer: types.AudioLevelObserver | undefined,
    options: AudioSelectionOptions,
    private readonly onChange: () => void,
  ) {
    const common: Omit<SpeakerSelectionOptions, 'count'> = { holdMs: options.holdMs };
    this.loudest = new SpeakerSelection({ ...common, count: options.topN });
    this.withRunnerUp = new SpeakerSelection({ ...common, count: options.topN + 1 });
    observer?.on('volumes', (volumes) => this.report(new Map(volumes.map(({ producer, volume }) => [producer.id, volume]))));
    observer?.on('silence', () => this.report(new Map()));
  }

  static async create(router: types.Router, options: AudioSelectionOptions, onChange: () => void): Promise<AudioSelection> {
    if (options.topN <= 0) return new AudioSelection(undefined, options, onChange);
    // Report more than N: the levels of the runners-up decide who takes a place next.
    const observer = await router.createAudioLevelObserver({ maxEntries: Math.max(8, options.topN * 4), threshold: -80, interval: REPORT_INTERVAL_MS });
    return new AudioSelection(observer, options, onChange);
  }

  /**
   * Whether a listener hears the producer (`producerId`: the room's id for it); `listenerAudioId`:
   * the listener's own audio producer, if any. Always, when top-N is off.
   */
  audible(producerId: string, listenerAudioId: string | undefined): boolean {
    if (this.observer === undefined) return true;
    const listenerIsLoud = listenerAudioId !== undefined && this.loudest.has(listenerAudioId);
    return listenerIsLoud ? this.withRunnerUp.has(producerId) : this.loudest.has(producerId);
  }

  /**
   * An audio producer on the observed router (its id there is the room's id for it), added before
   * its consumers are created. Taking a place among the loudest changes what its own participant
   * hears. Its pauses and resumes (a muted mic holds no place) are followed until it closes.
   */
  async add(producer: types.Producer): Promise<void> {
    if (!this.observer || this.observer.closed) return;
    const now = Date.now();
    const loud = this.loudest.add(producer.id, now, !producer.paused);
    this.withRunnerUp.add(producer.id, now, !producer.paused);
    producer.observer.on('pause', () => this.setPaused(producer.id, true));
    producer.observer.on('resume', () => this.setPaused(producer.id, false));
    await this.observer.addProducer({ producerId: producer.id }).catch(() => undefined);
    if (loud) this.onChange();
  }

  private setPaused(producerId: string, paused: boolean): void {
    const now = Date.now();
    const changed = [this.loudest.setEligible(producerId, !paused, now), this.withRunnerUp.setEligible(producerId, !paused, now)].some(Boolean);
    if (changed) this.onChange();
  }

  remove(producerId: string): void {
    if (!this.observer) return;
    // The observer drops a closed producer by itself.
    const now = Date.now();
    const changed = [this.loudest.remove(producerId, now), this.withRunnerUp.remove(producerId, now)].some(Boolean);
    if (changed) this.onChange();
  }

  private report(levels: ReadonlyMap<string, number>): void {
    const now = Date.now();
    const changed = [this.loudest.report(levels, now), this.withRunnerUp.report(levels, now)].some(Boolean);
    if (changed) this.onChange();
  }
}

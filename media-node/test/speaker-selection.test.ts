import { describe, expect, it } from 'vitest';
import { SpeakerSelection } from '../rooms/speaker-selection.js';

/** Feeds `reports` observer reports of the same levels, one every 300 ms from `start`; returns the clock after. */
function feed(selection: SpeakerSelection, levels: Record<string, number>, reports: number, start: number): { now: number; changes: number } {
  let now = start;
  let changes = 0;
  for (let i = 0; i < reports; i++) {
    now += 300;
    if (selection.report(new Map(Object.entries(levels)), now)) changes++;
  }
  return { now, changes };
}

describe('SpeakerSelection (top-N audio, pure)', () => {
  it('fills free places at once: with N or fewer producers everyone is selected, silent or not', () => {
    const selection = new SpeakerSelection({ count: 3, holdMs: 1_000 });
    expect(selection.add('a', 0)).toBe(true);
    expect(selection.add('b', 0)).toBe(true);
    expect(selection.report(new Map(), 300)).toBe(false);
    expect(selection.selected().sort()).toEqual(['a', 'b']);
  });

  it('ends with the N loudest once the hold has passed, whoever came first', () => {
    const selection = new SpeakerSelection({ count: 3, holdMs: 1_000 });
    for (const id of ['q1', 'q2', 'q3', 'l1', 'l2']) selection.add(id, 0);
    expect(selection.selected().sort()).toEqual(['q1', 'q2', 'q3']);
    const levels = { q1: -60, q2: -50, q3: -40, l1: -10, l2: -20 };
    // Within the hold nobody is replaced, however loud the newcomers.
    expect(feed(selection, levels, 3, 0).changes).toBe(0);
    feed(selection, levels, 10, 900);
    expect(selection.selected().sort()).toEqual(['l1', 'l2', 'q3']);
  });

  it('does not flap between speakers closer than the margin, nor replace anyone with noise', () => {
    const selection = new SpeakerSelection({ count: 1, holdMs: 0 });
    selection.add('a', 0);
    selection.add('b', 0);
    let now = feed(selection, { a: -30, b: -32 }, 5, 0).now;
    expect(selection.selected()).toEqual(['a']);
    // b gets a little louder than a, back and forth: within 6 dB nothing changes.
    for (let i = 0; i < 20; i++) {
      now += 300;
      expect(selection.report(new Map(Object.entries(i % 2 === 0 ? { a: -33, b: -29 } : { a: -29, b: -33 })), now)).toBe(false);
    }
    // Both fall silent, and c only murmurs below the floor: a keeps its place.
    selection.add('c', now);
    now = feed(selection, { c: -85 }, 20, now).now;
    expect(selection.selected()).toEqual(['a']);
    // b speaks: it takes over within a few reports.
    const { changes } = feed(selection, { b: -30 }, 3, now);
    expect(changes).toBe(1);
    expect(selection.selected()).toEqual(['b']);
  });

  it('a speaker missing from a report or two (late packets) keeps its place; one who stops loses it', () => {
    const selection = new SpeakerSelection({ count: 1, holdMs: 0 });
    selection.add('loud', 0);
    selection.add('quiet', 0);
    let now = feed(selection, { loud: -20, quiet: -40 }, 20, 0).now;
    expect(selection.selected()).toEqual(['loud']);
    for (let i = 0; i < 10; i++) {
      now = feed(selection, { quiet: -40 }, 1 + (i % 2), now).now;
      now = feed(selection, { loud: -20, quiet: -40 }, 2, now).now;
      expect(selection.selected()).toEqual(['loud']);
    }
    feed(selection, { quiet: -40 }, 5, now);
    expect(selection.selected()).toEqual(['quiet']);
  });

  it('a paused producer (muted mic) holds no place: the loudest unpaused one takes it, loud or not', () => {
    const selection = new SpeakerSelection({ count: 2, holdMs: 1_000 });
    selection.add('muted', 0, false);
    selection.add('a', 0);
    selection.add('b', 0);
    expect(selection.selected().sort()).toEqual(['a', 'b']);
    // Unmuting, it waits for a place like anyone (the hold has not passed).
    expect(selection.setEligible('muted', true, 100)).toBe(false);
    expect(selection.has('muted')).toBe(false);
    // a mutes: its place goes to the other producer at once, though it is silent.
    expect(selection.setEligible('a', false, 200)).toBe(true);
    expect(selection.selected().sort()).toEqual(['b', 'muted']);
  });

  it('gives a removed speaker\'s place to the loudest other producer', () => {
    const selection = new SpeakerSelection({ count: 1, holdMs: 0 });
    selection.add('a', 0);
    selection.add('b', 0);
    selection.add('c', 0);
    const { now } = feed(selection, { a: -20, b: -50, c: -40 }, 5, 0);
    expect(selection.selected()).toEqual(['a']);
    expect(selection.remove('b', now)).toBe(false);
    expect(selection.remove('a', now)).toBe(true);
    expect(selection.selected()).toEqual(['c']);
  });
});

/**
 * The failover drill shared by `npm run bench:failover` and the two-node e2e test: a meeting of
 * three Chromium pages on a local stack with several media nodes, a fault on the node serving it,
 * and what each page saw — when remote video decoded again, and the longest frame gap.
 */
import type { Browser, Page } from 'playwright-core';
import type { CameraProgress } from '../../edge/web/test/people.js';
import type { MediaNodeHandle, Stack } from '../dev-stack.js';
import { eventually, join, newPerson, signUp, startMeeting, state } from '../../edge/web/test/people.js';

export interface Person {
  page: Page;
  name: string;
}

/** How often the pages are sampled while a fault plays out (the figures' resolution). */
export const SAMPLE_EVERY_MS = 100;

/** A host signs up and starts a meeting, two guests join by link; resolves once everyone decodes everyone. */
export async function openCall(browser: Browser, stack: Stack): Promise<{ people: Person[]; meetingPath: string }> {
  const host = await newPerson(browser, stack.edgeUrl);
  await signUp(host, 'Hana Host', `host-${Date.now()}@example.com`);
  const meetingPath = await startMeeting(host);
  await join(host);
  const people: Person[] = [{ page: host, name: 'Hana Host' }];
  for (const name of ['Gail Guest', 'Gus Guest']) {
    const page = await newPerson(browser, stack.edgeUrl);
    await page.goto(meetingPath, { waitUntil: 'domcontentloaded', timeout: 90_000 });
    await join(page, name);
    people.push({ page, name });
  }
  await everyoneDecodes(people, 60_000);
  return { people, meetingPath };
}

/** Every page decodes a growing camera stream from every other page. */
export async function everyoneDecodes(people: readonly Person[], timeoutMs = 30_000): Promise<void> {
  let last = '';
  try {
    await eventually('every page to decode every other camera', async () => {
      const before = await Promise.all(people.map((person) => cameraFrames(person, people)));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const after = await Promise.all(people.map((person) => cameraFrames(person, people)));
      last = people.map((person, i) => `${person.name}: ${before[i]!.join('/')} → ${after[i]!.join('/')}`).join('; ');
      return after.every((frames, i) => frames.every((count, j) => count > 0 && count !== before[i]![j])) ? true : false;
    }, timeoutMs);
  } catch (error) {
    const states = await Promise.all(people.map(async (person) => `${person.name}: ${JSON.stringify(await state(person.page).catch(() => null))?.slice(0, 300)}`));
    throw new Error(`${error instanceof Error ? error.message : String(error)}; camera frames last seen ${last}; pages ${states.join(' | ')}`);
  }
}

/** Decoded frames of each other person's camera, as this page counts them now (session-local counters). */
async function cameraFrames(viewer: Person, people: readonly Person[]): Promise<number[]> {
  return (await sampleCameras(viewer, people)).cameras.map((camera) => camera.framesDecoded);
}

const NOTHING_SHOWN: CameraProgress = { consumerId: '', framesDecoded: 0, interFrameDelayMs: 0, interFrameDelaySquaresMs2: 0, statsAt: 0, shownAt: 0 };

/**
 * Since when (page clock) the page shows this camera playing: its first decoded frame (no later
 * than the stats' time less the delays between all its frames) or, if it decoded before it was
 * shown (a handover), when it went on the page.
 */
function playingSince(camera: CameraProgress): number {
  // Without the delays (NaN), only that a frame was decoded by the stats' time.
  const firstFrameBy = Number.isFinite(camera.interFrameDelayMs) ? camera.statsAt - camera.interFrameDelayMs : camera.statsAt;
  return Math.max(firstFrameBy, camera.shownAt);
}

/** One light call to the page: its cameras' progress (in `people` order, without the viewer) and media sessions. */
async function sampleCameras(viewer: Person, people: readonly Person[]): Promise<{ cameras: CameraProgress[]; mediaSessions: number | null }> {
  const sample = await viewer.page.evaluate(() => window.__edgemeet?.cameraProgress() ?? null).catch(() => null);
  const cameras = people.filter((other) => other !== viewer).map((other) => sample?.cameras[other.name] ?? NOTHING_SHOWN);
  return { cameras, mediaSessions: sample?.mediaSessions ?? null };
}

/**
 * The longest delay between consecutive frames that `frames` delays summing to `sumMs`, with
 * squares summing to `squaresMs2`, can hold (Samuelson's inequality: no value lies further above
 * the mean than √(n−1) standard deviations). Exact for one frame, or one long delay among equal
 * short ones; above the truth when several long ones share an interval, never below it.
 */
export function longestDelayBound(frames: number, sumMs: number, squaresMs2: number): number {
  // No frames, or a browser without these stats (NaN): nothing is known beyond the samples.
  if (!(frames > 0) || !Number.isFinite(sumMs) || !Number.isFinite(squaresMs2)) return Infinity;
  const mean = sumMs / frames;
  const variance = Math.max(0, squaresMs2 / frames - mean * mean);
  return mean + Math.sqrt((frames - 1) * variance);
}

/** The node with the meeting (the only one with rooms), as the fleet API reports it. */
export async function servingNode(stack: Stack): Promise<MediaNodeHandle> {
  const nodeId = await eventually('the node serving the meeting', async () => {
    const serving = (await stack.fleet.nodes()).filter((node) => node.rooms > 0 && node.state !== 'down');
    return serving.length === 1 ? serving[0]!.nodeId : false;
  });
  return stack.node(nodeId);
}

/**
 * A node is back in placement: registered, serving, recently heard from, and excluded for nothing
 * (a node just woken from SIGSTOP reports event-loop lag for a while; a round that started then
 * would find no node to move to and measure the room's retry instead of the failover).
 */
export async function untilServing(stack: Stack, nodeId: string, timeoutMs = 60_000): Promise<void> {
  await eventually(`${nodeId} serving again and taking rooms`, async () => {
    const node = (await stack.fleet.nodes()).find((listed) => listed.nodeId === nodeId);
    return node?.state === 'serving' && Date.now() - node.lastHeartbeatAt < 5_000 && (node.excludedBecause ?? []).length === 0;
  }, timeoutMs);
}

export interface FaultResult {
  /** Fault → remote video decoding again on a new media session, per page (ms). */
  recoveryMs: number[];
  /** Longest time any page went without a new frame from some other camera (ms). */
  maxGapMs: number;
  /** Where the longest gap was: whose page, whose camera, from when (ms since the fault). */
  maxGapAt: string;
  /** Media sessions each page went through during the round (1: it never reconnected). */
  sessions: number[];
  /** Per page, the client's milestones since the fault (ms, in order; see call.ts mark). */
  timelines: [string, number][][];
  /** When the fault struck (wall clock), to read the stack's logs against. */
  faultAt: string;
}

/** The page's own clock (performance.now()), to read its milestones against the fault. */
function pageClock(person: Person): Promise<number> {
  return person.page.evaluate(() => performance.now());
}

/** The page's milestones at or after `since` (its clock), in ms since then, in order (a repeated one each time). */
async function timelineSince(person: Person, since: number): Promise<[string, number][]> {
  const recent = (await person.page.evaluate(() => window.__edgemeet?.timing().recent ?? []).catch(() => [])) as [string, number][];
  return recent.filter(([, at]) => at >= since).map(([name, at]) => [name, Math.round(at - since)]);
}

/** One line per page: its milestones since the fault. */
export function describeTimelines(people: readonly Person[], result: FaultResult): string {
  return people.map((person, i) => `${person.name}: ${(result.timelines[i] ?? []).map(([name, ms]) => `${name} ${ms}`).join(', ')}`).join('\n');
}

/**
 * Samples every page from `fault()` until each decodes every other camera again on a new media
 * session, and `settleMs` beyond (so a gap right after the switch counts too). `moves` says who
 * must be on a new session (default everyone; a part's drain moves only the people on that node).
 * One who stays counts as recovered once every mover has, at a sample where they decode everyone.
 */
export async function measureFault(people: readonly Person[], fault: () => Promise<void> | void, options: { timeoutMs?: number; settleMs?: number; moves?: (person: Person) => boolean } = {}): Promise<FaultResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const settleMs = options.settleMs ?? 2_000;
  const sessionsBefore = await Promise.all(people.map(async (person) => (await state(person.page))?.mediaSessions ?? 0));
  const stays = people.map((person) => options.moves?.(person) === false);
  const watches = people.map((viewer) => new PageWatch(viewer, people));
  await Promise.all(watches.map((watch) => watch.sample(performance.now())));
  const clocks = await Promise.all(people.map(pageClock));
  const faultAt = performance.now();
  const faultWallClock = new Date().toISOString();
  await fault();
  const recovered: (number | null)[] = people.map(() => null);
  const deadline = faultAt + timeoutMs;
  let allBackAt: number | null = null;
  while (performance.now() < deadline) {
    const sampledAt = performance.now();
    const samples = await Promise.all(watches.map((watch) => watch.sample(sampledAt)));
    // Video was decoding again by the time the sample came back (an upper bound within one sample),
    // or, by the page's own clock, since every camera it shows began to play: a page busy with the
    // failover answers its sampler late (seconds on a loaded machine) while its video plays.
    const seenAt = performance.now();
    // (A page clock that says "before the fault" is not believed: the sample's time stands.)
    const back = (sample: CameraSample, i: number) => {
      const byPage = sample.playingSince - clocks[i]!;
      return byPage >= 0 ? Math.min(seenAt - faultAt, byPage) : seenAt - faultAt;
    };
    samples.forEach((sample, i) => {
      if (recovered[i] === null && !stays[i] && sample.sessions > sessionsBefore[i]! && sample.allProgressed) recovered[i] = back(sample, i);
    });
    const moversBack = recovered.every((value, i) => stays[i] || value !== null);
    samples.forEach((sample, i) => {
      if (recovered[i] === null && stays[i] && moversBack && sample.allProgressed) recovered[i] = seenAt - faultAt;
    });
    if (allBackAt === null && recovered.every((value) => value !== null)) allBackAt = sampledAt;
    if (allBackAt !== null && sampledAt - allBackAt >= settleMs) break;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, SAMPLE_EVERY_MS - (performance.now() - sampledAt))));
  }
  const missing = people.filter((_, i) => recovered[i] === null).map((person) => person.name);
  if (missing.length > 0) throw new Error(`no remote video on a new media session within ${timeoutMs} ms on: ${missing.join(', ')}`);
  return {
    recoveryMs: recovered.map((value) => Math.round(value!)),
    maxGapMs: Math.round(Math.max(...watches.map((watch) => watch.maxGapMs))),
    maxGapAt: describeGap(watches, faultAt),
    sessions: watches.map((watch, i) => watch.sessions - sessionsBefore[i]! + 1),
    timelines: await Promise.all(people.map((person, i) => timelineSince(person, clocks[i]!))),
    faultAt: faultWallClock,
  };
}

function describeGap(watches: readonly PageWatch[], faultAt: number): string {
  const worst = watches.reduce((a, b) => (b.maxGapMs > a.maxGapMs ? b : a));
  if (!worst.maxGap) return 'none';
  return `${worst.viewerName} watching ${worst.maxGap.of}, over by ${Math.round(worst.maxGap.endedBy - faultAt)} ms${worst.maxGap.acrossSwitch ? ', across a switch of track' : ''}`;
}

/**
 * One page's view of the others' cameras across samples: progress, gaps, its media session count.
 * A gap is the time from the sending of a sample that saw a camera progress to the answer of the
 * next that did — unless the page answered late
 * (a busy machine: a sample's round trip took up to 1.7 s during a drain while frames kept coming):
 * between two samples of the same track, the browser's own timing of the delays between its frames
 * (longestDelayBound) says how long the longest one was. Across a switch to another track only the
 * samples can tell.
 */
class PageWatch {
  private readonly last: { camera: CameraProgress; at: number }[];
  maxGapMs = 0;
  maxGap: { of: string; endedBy: number; acrossSwitch: boolean } | null = null;
  sessions = 0;

  constructor(
    private readonly viewer: Person,
    private readonly people: readonly Person[],
  ) {
    this.last = this.others.map(() => ({ camera: NOTHING_SHOWN, at: NaN }));
  }

  get viewerName(): string {
    return this.viewer.name;
  }

  private get others(): string[] {
    return this.people.filter((other) => other !== this.viewer).map((other) => other.name);
  }

  /** `at`: when the sample was sent (the page counts its frames somewhere between then and its answer). */
  async sample(at: number): Promise<CameraSample> {
    const { cameras, mediaSessions } = await sampleCameras(this.viewer, this.people);
    const answeredAt = performance.now();
    this.sessions = mediaSessions ?? this.sessions;
    let allProgressed = true;
    cameras.forEach((camera, j) => {
      const last = this.last[j]!;
      const sameTrack = camera.consumerId === last.camera.consumerId;
      // Counters restart with each new track: any change to a non-zero count is a new frame.
      if (camera.framesDecoded === 0 || (sameTrack && camera.framesDecoded === last.camera.framesDecoded)) {
        allProgressed = false;
        return;
      }
      if (!Number.isNaN(last.at)) {
        // From the last sample that saw progress being sent to this one's answer: no gap between
        // the frames they counted can be longer.
        const sampled = answeredAt - last.at;
        const timed = sameTrack
          ? longestDelayBound(camera.framesDecoded - last.camera.framesDecoded, camera.interFrameDelayMs - last.camera.interFrameDelayMs, camera.interFrameDelaySquaresMs2 - last.camera.interFrameDelaySquaresMs2)
          : Infinity;
        const gap = Math.min(sampled, timed);
        if (gap > this.maxGapMs) {
          this.maxGapMs = gap;
          this.maxGap = { of: this.others[j]!, endedBy: at, acrossSwitch: !sameTrack };
        }
      }
      this.last[j] = { camera, at };
    });
    return { sessions: this.sessions, allProgressed, playingSince: Math.max(...cameras.map(playingSince)) };
  }
}

interface CameraSample {
  sessions: number;
  /** Every other camera decoded a frame since the last sample. */
  allProgressed: boolean;
  /** Since when (page clock) all of them play (playingSince). */
  playingSince: number;
}

/**
 * The reference: the longest frame gap any page sees over `durationMs` with no fault at all — and
 * over at least `minSamples` samples, so a slow machine (each sample a round of page calls) still
 * compares gaps between samples rather than reporting none.
 */
export async function measureQuiet(people: readonly Person[], durationMs: number, minSamples = 20): Promise<number> {
  const watches = people.map((viewer) => new PageWatch(viewer, people));
  const started = performance.now();
  for (let samples = 0; samples < minSamples || performance.now() - started < durationMs; samples++) {
    const sampledAt = performance.now();
    await Promise.all(watches.map((watch) => watch.sample(sampledAt)));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, SAMPLE_EVERY_MS - (performance.now() - sampledAt))));
  }
  return Math.round(Math.max(...watches.map((watch) => watch.maxGapMs)));
}

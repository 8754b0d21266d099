import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingDownloadResponseSchema, recordingListResponseSchema, type Recording } from '../../../schema/wire/http.js';
import { launchChromium } from '../../../scripts/chromium.js';
import { startStack, type Stack } from '../../../scripts/dev-stack.js';
import { BEEP_SECONDS, fakeCaptureArgs, makeFakeMedia } from './fake-media.js';
import { eventually, inCall, join, newPerson, signUp, startMeeting, state } from './people.js';
import { chunksIn, LOUD_DB, loudness, meanLuma, probe, silentRuns, type Envelope, type Probe } from './recording-probe.js';

/**
 * Recordings you can trust (issue 12): ten recordings back to back in one meeting, Chromium's fake
 * devices fed known media (a beeping tone, a test pattern), covering tracks published before and
 * after the start (a guest joining mid-recording), a mic muted then unmuted, and a camera off at
 * the start then turned on. Every recording must reach 'ready', its composite and per-track files
 * must hold their streams at the window's length, and the beeps must be where the mic was on and
 * absent where it was muted.
 */
const WINDOW_MS = 7_000;
/** Duration tolerance of issue 12 point 3. */
const DURATION_TOLERANCE_S = 0.5;
/**
 * The node's window against the page's (indicator shown → Stop clicked); see the check. The page
 * learns the window opened a socket hop or two late: up to ~1.5 s on a loaded box (as in hostBeeps).
 */
const PAGE_WINDOW_TOLERANCE_S = 1.5;


type Guest = 'absent' | 'before' | 'joins-mid';
interface Case {
  name: string;
  guest: Guest;
  /** Host mutes at the first offset (ms into the window) and unmutes at the second. */
  hostMute?: [number, number];
  /** Host camera is off at the start and turned on at this offset. */
  hostCameraOnAt?: number;
}

const CASES: Case[] = [
  { name: 'host alone, all tracks published before the start', guest: 'absent' },
  { name: 'a guest joins mid-recording (tracks published after the start)', guest: 'joins-mid' },
  { name: 'host and guest both published before the start', guest: 'before' },
  { name: 'host mic muted then unmuted during the recording', guest: 'absent', hostMute: [2_000, 4_500] },
  { name: 'host camera off at the start, turned on during the recording', guest: 'absent', hostCameraOnAt: 3_000 },
];
const RUNS = [...CASES, ...CASES];
const GUEST_JOIN_AT_MS = 1_500;

const KEEP_DIR = path.resolve(import.meta.dirname, '../../../test-results/recording-integrity');

let stack: Stack;
let browser: Browser;
let dataDir: string;
let host: Page;
let guest: Page;
let meetingPath: string;
let token: string;
let guestIn = false;
let failures = 0;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-rec-e2e-'));
  const media = await makeFakeMedia(dataDir);
  stack = await startStack({ dataDir, edgePort: 0, mediaPort: 0, rtcMinPort: 0, mediaWorkers: 1, writeRootDevVars: false, log: (line) => console.log(`[stack] ${line}`) });
  browser = await launchChromium({ extraArgs: fakeCaptureArgs(media) });

  host = await newPerson(browser, stack.edgeUrl);
  await signUp(host, 'Hana Host', `rec-host-${Date.now()}@example.com`);
  meetingPath = await startMeeting(host);
  await join(host);
  await inCall(host, 'host');
  token = await host.evaluate(() => (JSON.parse(localStorage.getItem('edgemeet.session') ?? '{}') as { token?: string }).token ?? '');
  expect(token).not.toBe('');
  guest = await newPerson(browser, stack.edgeUrl);
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  // Keep the stack's logs when anything failed: they say what the edge and the recorder saw.
  // EDGEMEET_KEEP_LOGS=1 keeps them anyway (with EDGEMEET_NODE_LOG_LEVEL=debug: the capture timings).
  if ((failures > 0 || process.env.EDGEMEET_KEEP_LOGS === '1') && dataDir) {
    await rm(KEEP_DIR, { recursive: true, force: true });
    await cp(path.join(dataDir, 'logs'), path.join(KEEP_DIR, 'logs'), { recursive: true }).catch(() => undefined);
    console.log(`[rec] stack logs kept in ${KEEP_DIR}`);
  }
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function api<T>(route: string, parse: (json: unknown) => T): Promise<T> {
  const response = await fetch(`${stack.edgeUrl}${route}`, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`${route}: HTTP ${response.status} ${await response.text()}`);
  return parse(await response.json());
}

const listRecordings = async () =>
  (await api(`/api/meetings/${meetingPath.split('/').pop()}/recordings`, (json) => recordingListResponseSchema.parse(json))).recordings;

/** What the host's page shows, for a failure message. */
async function hostSays(): Promise<string> {
  const now = await state(host).catch(() => null);
  const alerts = await host.locator('[role=alert], [role=status]').allInnerTexts().catch(() => []);
  return `host page: phase ${now?.phase}, room ${now?.roomStatus}, media ${now?.mediaStatus}, sessions ${now?.mediaSessions}, recording ${(now as { recording?: boolean } | null)?.recording}; shows ${JSON.stringify(alerts.filter((t) => t.trim() !== ''))}`;
}

async function guestJoins(): Promise<void> {
  await guest.goto(meetingPath);
  await join(guest, 'Gail Guest');
  await inCall(guest, 'guest');
  guestIn = true;
}

async function guestLeaves(): Promise<void> {
  await guest.getByRole('button', { name: 'Leave' }).click();
  await eventually('the guest gone from the host', async () => ((await state(host))?.participants ?? []).every((p) => p.displayName !== 'Gail Guest'), 15_000);
  guestIn = false;
}

async function setHostCamera(on: boolean): Promise<void> {
  await host.getByRole('button', { name: on ? 'Turn camera on' : 'Turn camera off' }).click();
  await eventually(`host camera ${on ? 'on' : 'off'}`, async () => (await host.evaluate(() => (window.__edgemeet?.state() as { cameraOn?: boolean } | undefined)?.cameraOn)) === on, 15_000);
}

/** Clicks Mute/Unmute; returns when it was clicked and when the page showed it (Date.now() ms). */
async function setHostMic(on: boolean): Promise<{ clickedAt: number; shownAt: number }> {
  const clickedAt = Date.now();
  await host.getByRole('button', { name: on ? 'Unmute microphone' : 'Mute microphone' }).click();
  await eventually(`host mic ${on ? 'on' : 'off'}`, async () => (await state(host))?.micOn === on, 15_000);
  return { clickedAt, shownAt: Date.now() };
}

const selfId = (page: Page) => page.evaluate(() => (window.__edgemeet?.state() as { self?: string | null } | undefined)?.self ?? null);

/** Waits until `at` (ms, Date.now() clock): the recording window is a set length on purpose. */
const until = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

interface Timeline {
  /** Test-side window: host saw the indicator → host clicked Stop (ms). */
  startedAt: number;
  stoppedAt: number;
  /** When the guest was in the call, ms into the window (joins-mid). */
  guestInAt: number | null;
  /** The mute case: when Mute and Unmute were clicked and shown, ms into the window. */
  mute: MuteTimes | null;
}

interface MuteTimes {
  muteClicked: number;
  muteShown: number;
  unmuteClicked: number;
  unmuteShown: number;
}

/** One recording: start, do the case's actions at their offsets, stop; returns the new recording's id. */
async function record(testCase: Case): Promise<{ id: string; timeline: Timeline }> {
  // A failed case may have left its recording on: end it, so this case starts its own.
  const leftOn = host.getByRole('button', { name: 'Stop recording' });
  if (await leftOn.isVisible()) {
    await leftOn.click();
    await host.locator('.rec-indicator').waitFor({ state: 'hidden', timeout: 15_000 });
  }
  if (testCase.guest === 'before' && !guestIn) await guestJoins();
  if (testCase.guest !== 'before' && guestIn) await guestLeaves();
  if (testCase.hostCameraOnAt !== undefined) await setHostCamera(false);

  const before = new Set((await listRecordings()).map((r) => r.id));
  const clickedAt = Date.now();
  await host.getByRole('button', { name: 'Start recording' }).click();
  // "Recording" (not "Starting recording…"): the node's capture window is open.
  await host.locator('.rec-indicator[data-capturing="true"]').waitFor({ state: 'visible', timeout: 15_000 });
  const startedAt = Date.now();
  let guestInAt: number | null = null;
  const actions: Array<[number, () => Promise<void>]> = [];
  if (testCase.guest === 'joins-mid') actions.push([GUEST_JOIN_AT_MS, async () => {
    await guestJoins();
    guestInAt = Date.now() - startedAt;
  }]);
  const mute: MuteTimes = { muteClicked: 0, muteShown: 0, unmuteClicked: 0, unmuteShown: 0 };
  if (testCase.hostMute) {
    actions.push([testCase.hostMute[0], async () => {
      const { clickedAt, shownAt } = await setHostMic(false);
      Object.assign(mute, { muteClicked: clickedAt - startedAt, muteShown: shownAt - startedAt });
    }]);
    actions.push([testCase.hostMute[1], async () => {
      const { clickedAt, shownAt } = await setHostMic(true);
      Object.assign(mute, { unmuteClicked: clickedAt - startedAt, unmuteShown: shownAt - startedAt });
    }]);
  }
  if (testCase.hostCameraOnAt !== undefined) actions.push([testCase.hostCameraOnAt, () => setHostCamera(true)]);
  for (const [offset, action] of actions.sort((a, b) => a[0] - b[0])) {
    await until(startedAt + offset);
    await action();
  }
  await until(startedAt + WINDOW_MS);
  const stoppedAt = Date.now();
  const stop = host.getByRole('button', { name: 'Stop recording' });
  if (!(await stop.isVisible())) throw new Error(`the recording is no longer active when the window ends; ${await hostSays()}; recordings ${JSON.stringify((await listRecordings()).filter((r) => !before.has(r.id)).map((r) => [r.id, r.status, r.notes]))}`);
  await stop.click();
  await host.locator('.rec-indicator').waitFor({ state: 'hidden', timeout: 15_000 });

  // One click of Start, one recording (its row is written asynchronously, so wait for it); a
  // second one means the recording was split. Rows of an earlier, failed case are not this one's.
  const ours = (r: Recording) => !before.has(r.id) && Date.parse(r.startedAt) >= clickedAt - 1_000;
  const fresh = await eventually('the new recording is listed', async () => {
    const rows = (await listRecordings()).filter(ours);
    return rows.length > 0 ? rows : false;
  }, 30_000).catch(async (error: Error) => {
    throw new Error(`${error.message}; ${await hostSays()}`);
  });
  if (fresh.length !== 1) throw new Error(`expected one new recording, found ${JSON.stringify(fresh.map((r) => [r.id, r.status, r.notes]))}; ${await hostSays()}`);
  return { id: fresh[0]!.id, timeline: { startedAt, stoppedAt, guestInAt, mute: testCase.hostMute ? mute : null } };
}

async function finished(id: string): Promise<Recording> {
  return eventually(`recording ${id} to finish`, async () => {
    const row = (await listRecordings()).find((r) => r.id === id);
    return row && (row.status === 'ready' || row.status === 'failed') ? row : false;
  }, 90_000);
}

async function download(recording: Recording, key: string, dir: string): Promise<string> {
  const { url } = await api(`/api/recordings/${recording.id}/download?file=${encodeURIComponent(key)}`, (json) => recordingDownloadResponseSchema.parse(json));
  const response = await fetch(url);
  if (!response.ok) throw new Error(`download ${key}: HTTP ${response.status}`);
  const file = path.join(dir, key.slice(key.lastIndexOf('/') + 1));
  await writeFile(file, Buffer.from(await response.arrayBuffer()));
  return file;
}

/**
 * The host's beeps in one file (timeline = the recording window): no second without a beep where
 * the mic was on, and with a mute, exactly one beep-less stretch as long as the mute, where it
 * happened. The page clocked each click and when it showed; on the node's timeline each lies later
 * by the time the page took to learn the window opened, at most `skew` (the node's window minus the
 * page's, which adds that lag to the Stop's), plus the pause's own trip to the node (`trip`).
 */
function hostBeeps(mute: MuteTimes | null, envelope: Envelope, windowS: number, skew: number, label: string): string[] {
  const problems: string[] = [];
  const from = 0.3;
  const to = windowS - 0.3;
  const measured = chunksIn(envelope, from, to);
  if (measured < Math.floor((to - from) * 10) - 2) problems.push(`${label}: audio covers ${(measured / 10).toFixed(1)} s of ${(to - from).toFixed(1)} s`);
  const runs = silentRuns(envelope, from, to, 1.0);
  const show = runs.map(([a, b]) => `${a.toFixed(1)}–${b.toFixed(1)} s`).join(', ');
  if (!mute) {
    if (runs.length > 0) problems.push(`${label}: no beep in ${show} although the mic was on`);
    return problems;
  }
  const s = (ms: number) => ms / 1000;
  // The beeps' own silence (1 − BEEP_SECONDS) may join the mute on either side; 0.1 s is the envelope's step.
  const rhythm = 1 - BEEP_SECONDS + 0.1;
  const trip = 0.5;
  const earliestStart = s(mute.muteClicked) - rhythm;
  const latestStart = s(mute.muteShown) + skew + trip;
  const shortest = s(mute.unmuteClicked - mute.muteShown) - trip;
  // The lag to the node shifts both ends alike, so the stretch's length needs no skew.
  const longest = s(mute.unmuteShown - mute.muteClicked) + trip + 2 * rhythm;
  const run = runs[0];
  console.log(`[rec] ${label}: beep-less stretches ${show || 'none'} (page: mute ${s(mute.muteClicked).toFixed(2)}–${s(mute.muteShown).toFixed(2)} s, unmute ${s(mute.unmuteClicked).toFixed(2)}–${s(mute.unmuteShown).toFixed(2)} s; skew ≤ ${skew.toFixed(2)} s)`);
  if (runs.length !== 1 || !run) problems.push(`${label}: expected one beep-less stretch (the mute), found ${runs.length}: ${show}`);
  else {
    const length = run[1] - run[0];
    if (length < shortest || length > longest) problems.push(`${label}: the mute left ${length.toFixed(1)} s without beeps, expected ${shortest.toFixed(1)}–${longest.toFixed(1)} s`);
    if (run[0] < earliestStart || run[0] > latestStart) problems.push(`${label}: the mute starts at ${run[0].toFixed(1)} s, expected ${earliestStart.toFixed(1)}–${latestStart.toFixed(1)} s`);
  }
  return problems;
}

describe('ten recordings back to back, fed known media', () => {
  RUNS.forEach((testCase, index) => {
    it(`recording ${index + 1}: ${testCase.name}`, async () => {
      let ok = false;
      try {
        const { id, timeline } = await record(testCase);
        const recording = await finished(id);
        const windowS = (timeline.stoppedAt - timeline.startedAt) / 1000;
        console.log(`[rec ${index + 1}] page window ${new Date(timeline.startedAt).toISOString()}–${new Date(timeline.stoppedAt).toISOString()}, API startedAt ${recording.startedAt} endedAt ${recording.endedAt}`);
        console.log(`[rec ${index + 1}] ${id}: ${recording.status}${recording.incomplete ? ' (incomplete)' : ''}, durationMs ${recording.durationMs}, test window ${windowS.toFixed(2)} s, ${recording.files.length} files, notes ${JSON.stringify(recording.notes)}, error ${recording.error}`);
        // Every case here has nothing missing by the status rules (a paused mic is not live; a
        // camera turned on later is a new producer, captured from then on): so 'ready', whole.
        expect({ status: recording.status, incomplete: recording.incomplete, notes: recording.notes }).toEqual({ status: 'ready', incomplete: false, notes: [] });

        const dir = path.join(dataDir, `rec-${index + 1}`);
        await mkdir(dir, { recursive: true });
        const problems: string[] = [];
        const hostId = await selfId(host);
        const guestId = testCase.guest === 'absent' ? null : await selfId(guest);

        // The node's window (start → stop as the node saw them) is what the files are measured
        // against. The page says "Recording" once the node reports its window open, and stops
        // showing it after the Stop reached the node: each end lags by a socket hop or two.
        const nodeWindowS = (recording.durationMs ?? 0) / 1000;
        console.log(`[rec ${index + 1}] page window − node window: ${(windowS - nodeWindowS).toFixed(2)} s`);
        if (Math.abs(nodeWindowS - windowS) > PAGE_WINDOW_TOLERANCE_S) problems.push(`the recording's durationMs ${recording.durationMs} is far from the page's window ${windowS.toFixed(2)} s`);

        const composite = recording.files.find((f) => f.kind === 'composite');
        if (!composite) throw new Error('no composite file');
        const compositeFile = await download(recording, composite.key, dir);
        const compositeProbe = await probe(compositeFile);
        if (!compositeProbe.streams.some((s) => s.kind === 'video')) problems.push('composite: no video stream');
        if (!compositeProbe.streams.some((s) => s.kind === 'audio')) problems.push('composite: no audio stream');
        if (Math.abs(compositeProbe.durationSec - nodeWindowS) > DURATION_TOLERANCE_S) problems.push(`composite: ${compositeProbe.durationSec.toFixed(2)} s, window ${nodeWindowS.toFixed(2)} s`);

        // Per-track files: who published what, each file holding a stream of its kind.
        const tracks: Array<{ participantId: string; kind: string; file: string; probe: Probe; offsetMs: number | undefined }> = [];
        for (const f of recording.files.filter((file) => file.kind === 'track')) {
          const file = await download(recording, f.key, dir);
          tracks.push({ participantId: f.participantId ?? '?', kind: f.mediaKind ?? '?', file, probe: await probe(file), offsetMs: f.offsetMs });
          if (f.offsetMs === undefined) problems.push(`${path.basename(file)}: no offsetMs (where it lies on the recording's timeline)`);
        }
        /** A track file's loudness on the recording's timeline (its first packet lies at offsetMs). */
        const onTimeline = async (track: (typeof tracks)[number]): Promise<Envelope> => {
          const envelope = await loudness(track.file);
          const shift = (track.offsetMs ?? 0) / 1000 - track.probe.startSec;
          return { at: envelope.at.map((at) => at + shift), rmsDb: envelope.rmsDb };
        };
        console.log(`[rec ${index + 1}] composite ${compositeProbe.durationSec.toFixed(2)} s ${JSON.stringify(compositeProbe.streams)}; tracks ${JSON.stringify(tracks.map((t) => ({ who: t.participantId === hostId ? 'host' : t.participantId === guestId ? 'guest' : t.participantId, kind: t.kind, start: t.probe.startSec, duration: t.probe.durationSec, streams: t.probe.streams.map((s) => s.codec) })))}`);
        const publishers = [['host', hostId], ...(guestId ? [['guest', guestId]] : [])] as const;
        for (const [who, participantId] of publishers) {
          for (const kind of ['audio', 'video']) {
            const files = tracks.filter((t) => t.participantId === participantId && t.kind === kind);
            if (files.length === 0) problems.push(`${who} ${kind}: no track file`);
            for (const t of files) if (!t.probe.streams.some((s) => s.kind === kind)) problems.push(`${who} ${kind}: ${path.basename(t.file)} has no ${kind} stream`);
          }
        }
        // Tracks live the whole window span it within the tolerance.
        const hostAudio = tracks.filter((t) => t.participantId === hostId && t.kind === 'audio');
        if (hostAudio.length === 1 && Math.abs(hostAudio[0]!.probe.durationSec - nodeWindowS) > DURATION_TOLERANCE_S) problems.push(`host audio track: ${hostAudio[0]!.probe.durationSec.toFixed(2)} s, window ${nodeWindowS.toFixed(2)} s`);
        const hostVideo = tracks.filter((t) => t.participantId === hostId && t.kind === 'video');
        const hostVideoS = hostVideo.reduce((sum, t) => sum + t.probe.durationSec, 0);
        // Camera turned on at a page-clock offset; the node's window opened `lag` s after the page's.
        const lag = Math.max(0, windowS - nodeWindowS);
        const expectedVideoS = testCase.hostCameraOnAt === undefined ? nodeWindowS : nodeWindowS - Math.max(0, testCase.hostCameraOnAt / 1000 - lag);
        if (hostVideo.length > 0 && Math.abs(hostVideoS - expectedVideoS) > (testCase.hostCameraOnAt === undefined ? DURATION_TOLERANCE_S : 1.0)) problems.push(`host video track(s): ${hostVideoS.toFixed(2)} s, expected ~${expectedVideoS.toFixed(2)} s`);

        // The beeps: where the host's mic was on, every second holds one; where muted, none.
        // Only the host speaks in the mute cases, so the composite is silent while they are muted.
        const skew = Math.max(0, nodeWindowS - windowS);
        problems.push(...hostBeeps(timeline.mute, await loudness(compositeFile), nodeWindowS, skew, 'composite'));
        if (hostAudio.length === 1) problems.push(...hostBeeps(timeline.mute, await onTimeline(hostAudio[0]!), nodeWindowS, skew, 'host audio track'));
        // The guest's beeps are in their own file from when they were in.
        const guestAudio = tracks.filter((t) => t.participantId === guestId && t.kind === 'audio');
        if (guestAudio.length === 1) {
          const envelope = await loudness(guestAudio[0]!.file);
          const heard = envelope.at.length / 10;
          const expectedS = testCase.guest === 'joins-mid' ? nodeWindowS - (timeline.guestInAt ?? 0) / 1000 : nodeWindowS;
          if (heard < expectedS - 1.0) problems.push(`guest audio track: ${heard.toFixed(1)} s of audio, expected ≥ ${(expectedS - 1).toFixed(1)} s`);
          // From their first beep to their last, none missing (their media did not drop out).
          const loudAt = envelope.at.filter((_, i) => envelope.rmsDb[i]! > LOUD_DB);
          const gaps = silentRuns(envelope, loudAt[0] ?? 0, (loudAt.at(-1) ?? 0) + 0.1, 1.0);
          if (loudAt.length === 0) problems.push('guest audio track: no beep at all');
          for (const [a, b] of gaps) problems.push(`guest audio track: no beep in ${a.toFixed(1)}–${b.toFixed(1)} s`);
        }

        // Video: the test pattern shows; with the camera off at the start, the composite is dark until it is on.
        const lumaAll = await meanLuma(compositeFile, 0.3, nodeWindowS - 0.3);
        if (testCase.hostCameraOnAt !== undefined) {
          const onS = testCase.hostCameraOnAt / 1000;
          // Node window time runs up to ~1.5 s behind the page's clock (see hostBeeps).
          const dark = await meanLuma(compositeFile, 0.3, onS - 1.5);
          const lit = await meanLuma(compositeFile, onS + 1.0, nodeWindowS - 0.3);
          console.log(`[rec ${index + 1}] composite luma: camera off ${dark.toFixed(1)}, camera on ${lit.toFixed(1)}`);
          if (!(lit > dark + 10)) problems.push(`composite: the host camera does not show once on (luma ${dark.toFixed(1)} off → ${lit.toFixed(1)} on)`);
        } else {
          console.log(`[rec ${index + 1}] composite luma ${lumaAll.toFixed(1)}`);
          if (!(lumaAll > 30)) problems.push(`composite: video is dark (mean luma ${lumaAll.toFixed(1)})`);
        }

        expect(problems).toEqual([]);
        ok = true;
      } finally {
        if (!ok) failures++;
      }
    });
  });
});

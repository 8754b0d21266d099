import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchChromium } from '../../../scripts/chromium.js';
import { startStack, type MediaNodeHandle, type Stack } from '../../../scripts/dev-stack.js';
import { everyoneDecodes, measureFault, servingNode, untilServing, type Person } from '../../../scripts/failover/drill.js';
import { markPage, reconnectWatch, REPORT_BANNER, samePage, watchReconnecting } from './page-watch.js';
import { eventually, join, newPerson, signUp, startMeeting, state } from './people.js';

/**
 * Crash failover in real browsers (issue 11): two media nodes in one region, a meeting of two
 * people, and the node serving it is SIGKILLed mid-call. Both pages must get media back on the
 * other node by themselves — no reload, no new join — decode each other's video again, and clear
 * the reconnect banner. The crashed node, restarted, serves again without holding a stale room.
 * Then the serving node is drained: the pages move make-before-break, without a reconnect.
 */
let stack: Stack;
let browser: Browser;
let dataDir: string;
/** A failed run keeps the stack's logs (edge, nodes) for a look. */
let keepLogs = false;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-failover-e2e-'));
  stack = await startStack({ dataDir, edgePort: 0, mediaPort: 0, rtcMinPort: 0, mediaWorkers: 1, nodes: 'lon:2', writeRootDevVars: false, log: (line) => console.log(`[stack] ${line}`) });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await stack?.stop();
  if (keepLogs) console.log(`[e2e] logs kept in ${stack?.logDir}`);
  else if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('a media node dies mid-call', () => {
  let people: Person[];
  let killed: MediaNodeHandle;

  it('SIGKILL of the serving node: both pages rebuild media on the other node and decode each other again, without a reload', async () => {
    onTestFailed(() => void (keepLogs = true));
    const host = await newPerson(browser, stack.edgeUrl);
    await signUp(host, 'Hana Host', `host-${Date.now()}@example.com`);
    const meetingPath = await startMeeting(host);
    await join(host);
    const guest = await newPerson(browser, stack.edgeUrl);
    await guest.goto(meetingPath);
    await join(guest, 'Gail Guest');
    people = [
      { page: host, name: 'Hana Host' },
      { page: guest, name: 'Gail Guest' },
    ];
    await everyoneDecodes(people, 60_000);

    killed = await servingNode(stack);
    const survivor = stack.nodes.find((node) => node.nodeId !== killed.nodeId)!;
    const before = await Promise.all(people.map(async ({ page }) => (await state(page))!));
    for (const { page } of people) {
      await markPage(page);
      await watchReconnecting(page);
    }

    // Until every page decodes every other camera on a media session newer than the one it had.
    const result = await measureFault(people, () => killed.signal('SIGKILL'), { timeoutMs: 60_000 });
    expect(await killed.exited).toBeNull();
    expect(result.sessions.every((sessions) => sessions >= 2)).toBe(true);
    for (const [i, { page, name }] of people.entries()) {
      let last: unknown = null;
      await eventually(`${name} connected on a new media session and no longer reconnecting`, async () => {
        const now = await state(page);
        last = now && { phase: now.phase, roomStatus: now.roomStatus, mediaStatus: now.mediaStatus, mediaSessions: now.mediaSessions, reconnecting: now.reconnecting };
        return now?.phase === 'in-call' && now.mediaStatus === 'connected' && now.mediaSessions > before[i]!.mediaSessions && !now.reconnecting;
      }, 60_000).catch(async (error: unknown) => {
        const banner = await page.locator(REPORT_BANNER).evaluate((element) => ((element as HTMLElement).hidden ? null : element.textContent)).catch(() => null);
        throw new Error(`${String(error)}; last state ${JSON.stringify(last)}; banner ${JSON.stringify(banner)}`);
      });
      const watch = await reconnectWatch(page);
      if (watch.bannerAtStart !== null) console.log(`[e2e] ${name}: the banner already showed "${watch.bannerAtStart}" before the crash`);
      expect(watch.sawReconnecting, `${name} was told it is reconnecting`).toBe(true);
      // … and the banner clears once remote media is back.
      await page.locator(REPORT_BANNER).waitFor({ state: 'hidden', timeout: 15_000 });
      expect(await samePage(page), `${name}'s page was not reloaded`).toBe(true);
      expect(new URL(page.url()).pathname).toBe(meetingPath);
      // The room session survived: same roster as before the crash.
      const roster = (await state(page))!.participants.map((person) => person.displayName).sort();
      expect(roster).toEqual(before[i]!.participants.map((person) => person.displayName).sort());
    }
    console.log(`[e2e] SIGKILL of ${killed.nodeId} → remote video decoding again on ${survivor.nodeId} after ${result.recoveryMs.join(' / ')} ms (per page, 100 ms sampling)`);

    // The registry agrees: the dead node is down, the meeting lives on the survivor.
    expect((await servingNode(stack)).nodeId).toBe(survivor.nodeId);
    const listed = await stack.fleet.nodes();
    expect(listed.find((node) => node.nodeId === killed.nodeId)?.state).toBe('down');
  });

  it('the crashed node comes back and serves again; the meeting is served by one node only', async () => {
    onTestFailed(() => void (keepLogs = true));
    expect(killed, 'the crash test above killed a node').toBeDefined();
    await killed.restart();
    await untilServing(stack, killed.nodeId);
    // It learnt on its hello that the meeting moved: exactly one node holds it (servingNode checks
    // that), and the restarted process holds a room only if the meeting was placed there since.
    const serving = await servingNode(stack);
    const metrics = await (await fetch(`${killed.url}/metrics`)).text();
    expect(metrics).toMatch(serving.nodeId === killed.nodeId ? /^edgemeet_media_rooms 1$/m : /^edgemeet_media_rooms 0$/m);
    await everyoneDecodes(people, 30_000);
  });

  it('fleet drain of the serving node: both pages move make-before-break, never told they are reconnecting', async () => {
    onTestFailed(() => void (keepLogs = true));
    expect(people, 'the crash test above opened the call').toBeDefined();
    const draining = await servingNode(stack);
    const target = stack.nodes.find((node) => node.nodeId !== draining.nodeId)!;
    await untilServing(stack, target.nodeId);
    const before = await Promise.all(people.map(async ({ page }) => (await state(page))!));
    for (const { page } of people) {
      await markPage(page);
      await watchReconnecting(page);
    }
    const result = await measureFault(people, async () => void (await stack.fleet.drain(draining.region, draining.nodeId)), { timeoutMs: 60_000 });
    console.log(`[e2e] drain of ${draining.nodeId} → video on ${target.nodeId} after ${result.recoveryMs.join(' / ')} ms; longest frame gap ${result.maxGapMs} ms (${result.maxGapAt})`);
    for (const [i, { page, name }] of people.entries()) {
      const now = (await state(page))!;
      expect(now.mediaSessions, `${name} moved to a new media session`).toBeGreaterThan(before[i]!.mediaSessions);
      // The old session played on until the new one was ready: the page never said it was reconnecting.
      expect((await reconnectWatch(page)).sawReconnecting, `${name} was told it is reconnecting`).toBe(false);
      expect(await samePage(page), `${name}'s page was not reloaded`).toBe(true);
    }
    expect((await servingNode(stack)).nodeId).toBe(target.nodeId);
    // The drained node closes the meeting after the grace and exits; the pages are not on it any more.
    await everyoneDecodes(people, 30_000);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { LOCATION_HEADER } from '../../../schema/wire/http.js';
import { launchChromium } from '../../../scripts/chromium.js';
import { startStack, type Stack } from '../../../scripts/dev-stack.js';
import { everyoneDecodes, measureFault, untilServing, type Person } from '../../../scripts/failover/drill.js';
import { markPage, reconnectWatch, samePage, watchReconnecting } from './page-watch.js';
import { eventually, expectGrowing, join, newPerson, signUp, startMeeting, state } from './people.js';

/**
 * Cascading in real browsers (issue 14): one media node in London, two in New York. The host
 * joins from London, a guest from New York (the stack trusts X-Edgemeet-Location in place of
 * request.cf): each lands on their own region's node, the nodes relay each other's producers over
 * a PipeTransport, and both see and hear each other. Then the guest's node is drained: their part
 * of the meeting moves make-before-break to the other New York node (the guest's page is never
 * told it is reconnecting, the host does not move). Then that node is SIGKILLed: with New York's
 * other node drained, the guest moves to the meeting's London node by itself and both decode each
 * other again.
 */
const LONDON = '51.5072,-0.1276';
const NEW_YORK = '40.7128,-74.0060';

let stack: Stack;
let browser: Browser;
let dataDir: string;
let keepLogs = false;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-cascade-e2e-'));
  stack = await startStack({ dataDir, edgePort: 0, mediaPort: 0, rtcMinPort: 0, mediaWorkers: 1, nodes: 'lon:1,nyc:2', writeRootDevVars: false, log: (line) => console.log(`[stack] ${line}`) });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await stack?.stop();
  if (keepLogs) console.log(`[e2e] logs kept in ${stack?.logDir}`);
  else if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A browser that says it is at `location` ("lat,lon") on every request. */
async function personAt(location: string): Promise<Page> {
  const page = await newPerson(browser, stack.edgeUrl);
  await page.context().setExtraHTTPHeaders({ [LOCATION_HEADER]: location });
  return page;
}

async function mediaNodeOf(page: Page): Promise<string | null> {
  return (await state(page))?.mediaNodeId ?? null;
}

describe('a meeting across two regions', () => {
  it('host in London and guest in New York each use their region’s node, and see and hear each other through the relay; the guest’s node is drained and their part moves make-before-break; their new node dies and they recover on London', async () => {
    onTestFailed(() => void (keepLogs = true));
    const london = stack.nodes.find((node) => node.region === 'lon')!;
    const newYorkNodes = stack.nodes.filter((node) => node.region === 'nyc');

    const host = await personAt(LONDON);
    await signUp(host, 'Hana Host', `host-${Date.now()}@example.com`);
    const meetingPath = await startMeeting(host);
    await join(host);
    const guest = await personAt(NEW_YORK);
    await guest.goto(meetingPath);
    await join(guest, 'Gail Guest');
    const people: Person[] = [
      { page: host, name: 'Hana Host' },
      { page: guest, name: 'Gail Guest' },
    ];

    expect(await eventually('the host on the London node', async () => (await mediaNodeOf(host)) ?? false)).toBe(london.nodeId);
    const firstNodeId = await eventually('the guest on a New York node', async () => (await mediaNodeOf(guest)) ?? false);
    const drained = newYorkNodes.find((node) => node.nodeId === firstNodeId);
    expect(drained, `the guest is on ${firstNodeId}, not a New York node`).toBeDefined();
    const newYork = newYorkNodes.find((node) => node !== drained)!;
    await everyoneDecodes(people, 60_000);
    await expectGrowing(host, 'Gail Guest', 'mic', 'totalAudioEnergy');
    await expectGrowing(guest, 'Hana Host', 'mic', 'totalAudioEnergy');

    // The drain: only the guest's part moves, to their own region's other node, without a reconnect.
    const hostSessions = (await state(host))!.mediaSessions;
    const guestSessions = (await state(guest))!.mediaSessions;
    for (const { page } of people) {
      await markPage(page);
      await watchReconnecting(page);
    }
    // A loaded box can exclude a node for a moment (event-loop lag): the part must have somewhere in New York to go.
    await untilServing(stack, newYork.nodeId);
    const drain = await measureFault(people, async () => void (await stack.fleet.drain('nyc', drained!.nodeId)), { timeoutMs: 60_000, moves: (person) => person.page === guest });
    const guestIndex = people.findIndex((person) => person.page === guest);
    console.log(`[e2e] part drain of ${drained!.nodeId}: guest's video back on a new session after ${drain.recoveryMs[guestIndex]} ms; longest frame gap ${drain.maxGapMs} ms (${drain.maxGapAt})`);
    expect(await mediaNodeOf(guest)).toBe(newYork.nodeId);
    expect((await state(guest))!.mediaSessions).toBeGreaterThan(guestSessions);
    expect(await mediaNodeOf(host)).toBe(london.nodeId);
    expect((await state(host))!.mediaSessions, 'the host did not move').toBe(hostSessions);
    for (const { page, name } of people) {
      expect((await reconnectWatch(page)).sawReconnecting, `${name} was told it is reconnecting`).toBe(false);
      expect(await samePage(page), `${name}'s page was not reloaded`).toBe(true);
    }
    await everyoneDecodes(people, 30_000);
    await expectGrowing(host, 'Gail Guest', 'mic', 'totalAudioEnergy');
    await expectGrowing(guest, 'Hana Host', 'mic', 'totalAudioEnergy');

    const sessionsBefore = (await state(guest))!.mediaSessions;
    newYork.signal('SIGKILL');
    expect(await newYork.exited).toBeNull();
    await eventually('the guest on the London node, connected on a new media session', async () => {
      const now = await state(guest);
      return now?.mediaNodeId === london.nodeId && now.mediaStatus === 'connected' && now.mediaSessions > sessionsBefore;
    }, 60_000);
    await everyoneDecodes(people, 60_000);
    await expectGrowing(host, 'Gail Guest', 'mic', 'totalAudioEnergy');
    // Nobody reloaded or rejoined: the same two people, the host on the node it started on.
    expect((await state(host))!.participants.map((person) => person.displayName).sort()).toEqual(['Gail Guest', 'Hana Host']);
    expect(await mediaNodeOf(host)).toBe(london.nodeId);
  });
});

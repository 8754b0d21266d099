import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { LOCATION_HEADER } from '../../../schema/wire/http.js';
import { launchChromium } from '../../../scripts/chromium.js';
import { startStack, type Stack } from '../../../scripts/dev-stack.js';
import { everyoneDecodes, type Person } from '../../../scripts/failover/drill.js';
import { eventually, expectGrowing, join, newPerson, signUp, startMeeting, state } from './people.js';

/**
 * Cascading in real browsers (issue 14): one media node in London, one in New York. The host
 * joins from London, a guest from New York (the stack trusts X-Edgemeet-Location in place of
 * request.cf): each lands on their own region's node, the nodes relay each other's producers over
 * a PipeTransport, and both see and hear each other. Then the New York node is SIGKILLed: the
 * guest moves to the meeting's London node by itself and both decode each other again.
 */
const LONDON = '51.5072,-0.1276';
const NEW_YORK = '40.7128,-74.0060';

let stack: Stack;
let browser: Browser;
let dataDir: string;
let keepLogs = false;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-cascade-e2e-'));
  stack = await startStack({ dataDir, edgePort: 0, mediaPort: 0, rtcMinPort: 0, mediaWorkers: 1, nodes: 'lon:1,nyc:1', writeRootDevVars: false, log: (line) => console.log(`[stack] ${line}`) });
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
  it('host in London and guest in New York each use their region’s node, and see and hear each other through the relay; the guest’s node dies and they recover on London', async () => {
    onTestFailed(() => void (keepLogs = true));
    const london = stack.nodes.find((node) => node.region === 'lon')!;
    const newYork = stack.nodes.find((node) => node.region === 'nyc')!;

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
    expect(await eventually('the guest on the New York node', async () => (await mediaNodeOf(guest)) ?? false)).toBe(newYork.nodeId);
    await everyoneDecodes(people, 60_000);
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

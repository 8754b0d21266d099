import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../scripts/chromium.js';
import { startStack, type Stack } from '../../../scripts/dev-stack.js';
import { eventually, expectGrowing, join, newPerson, signUp, startMeeting, state } from './people.js';

/**
 * Issue 13 in a real browser: the media token never rides in a URL (it is the first message on
 * the node's socket), nor does the room session (a WebSocket subprotocol); a host can hold a
 * mute ("let participants unmute themselves" off) and the
 * muted person is told why Unmute does nothing; refusals (deny, too many passcodes) read plainly
 * and a retry time is waited out.
 */
let stack: Stack;
let browser: Browser;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-e2e-security-'));
  stack = await startStack({ dataDir, edgePort: 0, mediaPort: 0, rtcMinPort: 0, mediaWorkers: 1, writeRootDevVars: false, log: (line) => console.log(`[stack] ${line}`) });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await stack?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface SocketLog {
  url: string;
  sent: string[];
  received: string[];
}

/** Every WebSocket the page opens, with the frames both ways (read from outside the page). */
function watchSockets(page: Page): SocketLog[] {
  const sockets: SocketLog[] = [];
  page.on('websocket', (socket) => {
    const log: SocketLog = { url: socket.url(), sent: [], received: [] };
    sockets.push(log);
    socket.on('framesent', (frame) => log.sent.push(String(frame.payload)));
    socket.on('framereceived', (frame) => log.received.push(String(frame.payload)));
  });
  return sockets;
}

const mediaSockets = (sockets: SocketLog[]) => sockets.filter((socket) => !new URL(socket.url).pathname.startsWith('/api/'));
const roomSockets = (sockets: SocketLog[]) => sockets.filter((socket) => /^\/api\/meetings\/[^/]+\/ws$/.test(new URL(socket.url).pathname));
const parse = (text: string): Record<string, any> => JSON.parse(text) as Record<string, any>;

describe('security in the browser', () => {
  let host: Page;
  let guest: Page;
  let guestSockets: SocketLog[];

  it('the media token travels in the first message on the node socket, never in its URL', async () => {
    host = await newPerson(browser, stack.edgeUrl);
    const hostSockets = watchSockets(host);
    await signUp(host, 'Hana Host', `host-sec-${Date.now()}@example.com`);
    const meetingPath = await startMeeting(host);
    await join(host);
    await eventually('host in the call', async () => (await state(host))?.phase === 'in-call');

    guest = await newPerson(browser, stack.edgeUrl);
    guestSockets = watchSockets(guest);
    await guest.goto(meetingPath);
    await join(guest, 'Gail Guest');
    await expectGrowing(host, 'Gail Guest', 'mic', 'totalAudioEnergy');

    for (const sockets of [hostSockets, guestSockets]) {
      const media = mediaSockets(sockets);
      expect(media.length).toBeGreaterThan(0);
      console.log(`[e2e] media sockets: ${media.map((socket) => socket.received.map(parse).find((answer) => answer.id === 0)?.error?.code ?? 'ok').join(', ')}`);
      // Every media socket (a session may be replaced, e.g. after a refused token) does the same.
      for (const socket of media) {
        const url = new URL(socket.url);
        expect(url.pathname).toBe('/ws');
        expect(url.search).toBe('');
        const first = parse(socket.sent[0]!);
        expect(first).toMatchObject({ id: 0, method: 'authenticate', data: { token: expect.any(String) } });
        expect(socket.url).not.toContain(first.data.token);
      }
      expect(media.flatMap((socket) => socket.received.map(parse))).toContainEqual(expect.objectContaining({ id: 0, ok: true }));

      // The room socket's session is a subprotocol (point 16): no room socket URL carries a query.
      const room = roomSockets(sockets);
      expect(room.length).toBeGreaterThan(0);
      for (const socket of room) {
        expect(new URL(socket.url).search).toBe('');
        expect(socket.url).not.toContain('session');
      }
      expect(room.flatMap((socket) => socket.received.map(parse))).toContainEqual(expect.objectContaining({ type: 'welcome' }));
    }
  });

  it('with unmuting off, a host mute holds: the muted guest is told why and stays muted until the host allows it', async () => {
    const allow = host.getByLabel('Let participants unmute themselves');
    expect(await allow.isChecked()).toBe(true);
    await allow.uncheck();
    await host.getByRole('button', { name: 'Mute Gail Guest' }).click();
    await guest.locator('#held-mute-notice').waitFor({ state: 'visible', timeout: 15_000 });
    await eventually('the guest mic is off', async () => (await state(guest))?.micOn === false);

    const media = mediaSockets(guestSockets).at(-1)!;
    const refusals = () => media.received.map(parse).filter((answer) => answer.error?.code === 'PERMISSION_DENIED').length;
    const before = refusals();
    await guest.getByRole('button', { name: 'Unmute microphone' }).click();
    await guest.locator('.toast').getByText('The host muted you', { exact: false }).waitFor({ timeout: 10_000 });
    await eventually('the node refuses the unmute', async () => refusals() > before);
    // After the node's refusal the page shows (and sends) what the node does: muted.
    await eventually('the guest page shows muted again', async () => (await state(guest))?.micOn === false);
    expect(await guest.getByRole('button', { name: 'Unmute microphone' }).count()).toBe(1);

    await allow.check();
    await guest.locator('#held-mute-notice').waitFor({ state: 'hidden', timeout: 15_000 });
    await guest.getByRole('button', { name: 'Unmute microphone' }).click();
    await expectGrowing(host, 'Gail Guest', 'mic', 'totalAudioEnergy');
    expect(refusals()).toBe(before + 1);
  });

  it('a denied knock and too many wrong passcodes read plainly; Join waits out the retry time', async () => {
    const meeting = await host.evaluate(async () => {
      const session = JSON.parse(localStorage.getItem('edgemeet.session') ?? '{}') as { token?: string };
      const response = await fetch('/api/meetings', {
        method: 'POST',
        headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Guarded', passcode: 'right42', waitingRoom: true }),
      });
      return { status: response.status, body: (await response.json()) as { meeting?: { linkId: string } } };
    });
    expect(meeting).toMatchObject({ status: 201, body: { meeting: { linkId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) } } });
    const linkId = meeting.body.meeting!.linkId;
    // The host leaves the first meeting for this one (one page: a background tab's timers are throttled).
    await host.goto(`/m/${linkId}`);
    await host.getByLabel('Passcode').fill('right42');
    await join(host);
    await eventually('host in the guarded call', async () => (await state(host))?.phase === 'in-call');

    // Denied from the waiting room: a plain end message, and knocking again is refused as plainly.
    const knocker = await newPerson(browser, stack.edgeUrl);
    await knocker.goto(`/m/${linkId}`);
    await knocker.getByLabel('Passcode').fill('right42');
    await join(knocker, 'Kim Knock');
    await knocker.locator('#waiting-room').waitFor({ timeout: 15_000 });
    await host.getByRole('button', { name: 'Deny Kim Knock' }).click();
    const declined = 'The host declined your request to join this meeting.';
    await knocker.locator('#end-message').getByText(declined, { exact: false }).waitFor({ timeout: 15_000 });
    await knocker.goto(`/m/${linkId}`);
    await knocker.getByLabel('Passcode').fill('right42');
    await join(knocker, 'Kim Knock');
    await knocker.locator('#end-message').getByText(declined, { exact: false }).waitFor({ timeout: 15_000 });

    // Wrong passcodes until the room answers 429: the page says how long, and Join waits.
    const guesser = await newPerson(browser, stack.edgeUrl);
    await guesser.goto(`/m/${linkId}`);
    const joinButton = guesser.getByRole('button', { name: 'Join', exact: true });
    const error = guesser.locator('.form-error[role="alert"]');
    await guesser.getByLabel('Passcode').fill('wrong00');
    let limited = false;
    for (let attempt = 0; attempt < 10 && !limited; attempt++) {
      await join(guesser, 'Gus Guess', { preview: attempt === 0 });
      const text = await eventually('an answer to the join', async () => {
        if (await joinButton.isDisabled() && !(await error.textContent())) return false;
        return (await error.textContent()) || false;
      });
      limited = /Try again in \d+ (second|minute)s?\./.test(text);
    }
    expect(limited).toBe(true);
    expect(await joinButton.isDisabled()).toBe(true);
    expect(await error.textContent()).toMatch(/^Too many attempts\. Try again in \d+ (seconds?|minutes)\.$/);
  });
});

/**
 * The product side of bench:ttff: real people in Chromium on the whole stack (dev-stack: edge in
 * wrangler dev, Postgres, a media node). Per round a signed-in host starts a fresh meeting and
 * joins; then a first guest and a later guest each click Join, and each page's own clock times the
 * click to its first decoded remote video frame (edge/web/src/debug-hook.ts, a 50 ms getStats
 * poll), with the page's milestones (welcome, media socket open, first consumer…) for diagnosis.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { eventually, inCall, join, newPerson, signUp, startMeeting } from '../../edge/web/test/people.js';
import { hostLayers, joinerProbe, startJoinerProbe } from './ttff-probe.js';

export interface JoinTiming {
  ms: number;
  /** Milestones after the Join click, ms (mediaStart, mediaJoined, firstVideoConsumer…). */
  marks: Record<string, number>;
  /** With `diagnose`: the joiner's video timeline and the host's layers before and after (ttff-probe.ts). */
  probe?: Record<string, unknown>;
}

export interface ProductRound {
  first: JoinTiming;
  later: JoinTiming;
}

export interface ProductTtff {
  round(): Promise<ProductRound>;
  close(): Promise<void>;
}

/** Waits for the page's own Join → first remote video frame figure. */
export async function joinTiming(page: Page, timeoutMs = 30_000): Promise<JoinTiming> {
  return eventually(
    'a decoded remote video frame',
    async () => {
      const timing = await page.evaluate(() => window.__edgemeet?.timing() ?? null);
      return timing?.joinToFirstFrameMs == null ? false : { ms: timing.joinToFirstFrameMs, marks: timing.marks };
    },
    timeoutMs,
  );
}

/** A host account in its own context; each round opens a fresh meeting from the home page. */
export async function startProductTtff(browser: Browser, edgeUrl: string, options: { diagnose?: boolean } = {}): Promise<ProductTtff> {
  const signup = await newPerson(browser, edgeUrl);
  await signUp(signup, 'Tess Host', `ttff-host-${Date.now()}@example.com`);
  await signup.getByRole('button', { name: 'New meeting' }).waitFor({ timeout: 30_000 });
  const hostContext: BrowserContext = signup.context();
  await signup.close();
  let guests = 0;

  const guestJoin = async (meetingPath: string, opened: Page[], host: Page): Promise<JoinTiming> => {
    const guest = await newPerson(browser, edgeUrl);
    opened.push(guest);
    await guest.goto(meetingPath);
    if (!options.diagnose) {
      await join(guest, `Guest ${++guests}`);
      return joinTiming(guest);
    }
    await startJoinerProbe(guest);
    const hostBefore = await hostLayers(host);
    await join(guest, `Guest ${++guests}`);
    const timing = await joinTiming(guest);
    return { ...timing, probe: { ...(await joinerProbe(guest)), hostBefore, hostAfter: await hostLayers(host) } };
  };

  return {
    async round() {
      const opened: Page[] = [];
      const host = await hostContext.newPage();
      try {
        await host.goto('/');
        const meetingPath = await startMeeting(host);
        await join(host);
        await inCall(host, 'host');
        const first = await guestJoin(meetingPath, opened, host);
        const later = await guestJoin(meetingPath, opened, host);
        return { first, later };
      } finally {
        // Ended, not abandoned: a one-worker node holds two young rooms' reservations, and rooms
        // whose pages just closed keep theirs until their people count as gone (a minute).
        await host.getByRole('button', { name: 'End for all' }).click({ timeout: 5_000 }).catch(() => undefined);
        for (const page of opened) await page.context().close().catch(() => undefined);
        await host.close().catch(() => undefined);
      }
    },
    close: () => hostContext.close().catch(() => undefined),
  };
}

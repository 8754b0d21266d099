/**
 * Debian's Chromium driven by playwright-core, set up for WebRTC tests on loopback:
 * fake camera/microphone/screen, no permission prompts, ICE on 127.0.0.1, and no lookups of
 * Google hosts (the host-resolver rule). `npx playwright install` cannot download here, so the
 * system binary is used.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type LaunchOptions } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags measured to work here (toolchain.md "Browser tests"). Playwright adds --headless. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // Without it, with only `lo` up, Chromium gathers no ICE candidates and hangs in `new`.
  '--allow-loopback-in-peer-connection',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
] as const;

export interface ChromiumOptions {
  headless?: boolean;
  /** Extra flags; never a second --disable-features (it would replace Playwright's own list). */
  extraArgs?: string[];
}

function launchOptions(options: ChromiumOptions): LaunchOptions {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`);
  }
  return { executablePath: CHROMIUM_PATH, headless: options.headless ?? true, args: [...CHROMIUM_ARGS, ...(options.extraArgs ?? [])] };
}

/** One browser; each `newContext()` is an isolated person (own storage, cookies). */
export async function launchChromium(options: ChromiumOptions = {}): Promise<Browser> {
  return chromium.launch(launchOptions(options));
}

/**
 * A browser with its own fresh user-data-dir (removed on close): for runs that must not share a
 * profile with anything else.
 */
export async function launchChromiumProfile(options: ChromiumOptions = {}): Promise<{ context: BrowserContext; userDataDir: string; close(): Promise<void> }> {
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'edgemeet-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, launchOptions(options));
  return {
    context,
    userDataDir,
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

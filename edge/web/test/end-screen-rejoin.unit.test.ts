import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JoinResponse } from '../src/wire.js';
import { FakeSocket } from './call-fakes.js';

/**
 * The meeting page's end screen (meeting-page.ts): whether it offers Rejoin. The waiting room's
 * socket dropped for longer than the room's grace (CONNECT_GRACE_MS = 60 s, edge/room/presence.ts:
 * a laptop lid closed, a tab asleep, a train tunnel): the room let the knock go, so the reconnect is
 * refused with TOKEN_INVALID "this session has expired; join again" (a `closed` message, then close
 * code 4001). The page says "Rejoin the meeting": it must offer the button to do so.
 */

/** Just enough DOM for the page's views (h(), replaceChildren, button). */
class FakeNode {
  parent: FakeElement | null = null;
  constructor(readonly text: string) {}
  get textContent(): string {
    return this.text;
  }
}
class FakeElement {
  readonly attributes = new Map<string, string>();
  children: Array<FakeElement | FakeNode> = [];
  readonly listeners = new Map<string, Array<(event: unknown) => void>>();
  hidden = false;
  srcObject: unknown = null;
  autoplay = false;
  parent: FakeElement | null = null;
  private ownText: string | null = null;
  constructor(readonly tag: string) {}
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
  }
  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }
  addEventListener(type: string, listener: (event: unknown) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  removeEventListener(): void {}
  appendChild(child: FakeElement | FakeNode): FakeElement | FakeNode {
    this.children.push(child);
    child.parent = this;
    return child;
  }
  append(...children: Array<FakeElement | FakeNode>): void {
    for (const child of children) this.appendChild(child);
  }
  replaceChildren(...children: Array<FakeElement | FakeNode>): void {
    this.children = [];
    this.append(...children);
  }
  remove(): void {}
  async play(): Promise<void> {}
  set textContent(text: string) {
    this.ownText = text;
    this.children = [];
  }
  get textContent(): string {
    return this.ownText ?? this.children.map((child) => child.textContent).join('');
  }
  click(): void {
    for (const listener of this.listeners.get('click') ?? []) listener({});
  }
  all(): FakeElement[] {
    return this.children.flatMap((child) => (child instanceof FakeElement ? [child, ...child.all()] : []));
  }
  querySelector(selector: string): FakeElement | null {
    const cls = selector.startsWith('.') ? selector.slice(1) : null;
    return this.all().find((el) => (cls ? (el.getAttribute('class') ?? '').split(' ').includes(cls) : el.tag === selector)) ?? null;
  }
}

const captured: { enter: ((join: JoinResponse, at: number) => void) | null } = { enter: null };
vi.mock('../src/lib/api.js', () => ({
  ApiError: class ApiError extends Error {},
  api: { meetingInfo: async () => ({ meeting: { status: 'live', mode: 'meeting', title: 'Standup' }, hosting: false }) },
}));
vi.mock('../src/lib/auth-store.js', () => ({ currentUser: () => null }));
vi.mock('../src/lib/router.js', () => ({ navigate: () => undefined }));
vi.mock('../src/debug-hook.js', () => ({ installDebugHook: () => undefined }));
vi.mock('../src/meeting/in-call.js', () => ({ inCallView: () => new FakeElement('main') }));
vi.mock('../src/meeting/prejoin.js', () => ({
  prejoinView: (_meeting: unknown, _local: unknown, enter: (join: JoinResponse, at: number) => void) => {
    captured.enter = enter;
    return new FakeElement('main');
  },
}));

beforeEach(() => {
  FakeSocket.all = [];
  captured.enter = null;
  vi.stubGlobal('document', {
    createElement: (tag: string) => new FakeElement(tag),
    createTextNode: (text: string) => new FakeNode(text),
    getElementById: () => null,
    body: new FakeElement('body'),
    addEventListener() {},
  });
  vi.stubGlobal('HTMLInputElement', class {});
  vi.stubGlobal('MediaStream', class {});
  vi.stubGlobal('location', { protocol: 'http:', host: 'edge.test', search: '', reload: () => undefined });
  vi.stubGlobal('WebSocket', FakeSocket);
  vi.stubGlobal('window', {
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clearTimeout: (timer: number) => clearTimeout(timer),
    setInterval: (fn: () => void, ms: number) => setInterval(fn, ms),
    clearInterval: (timer: number) => clearInterval(timer),
    addEventListener() {},
    removeEventListener() {},
  });
  vi.stubGlobal('navigator', { mediaDevices: { getUserMedia: () => Promise.reject(new Error('no devices in this test')) } });
});
afterEach(() => {
  vi.unstubAllGlobals();
});

/** Joins as a guest the host has not let in yet; answers the page and its first room socket. */
async function inWaitingRoom() {
  const { meetingPage } = await import('../src/meeting/meeting-page.js');
  const root = meetingPage('link-id-for-tests-0000') as unknown as FakeElement;
  await vi.waitFor(() => expect(captured.enter).not.toBeNull());
  captured.enter!({ participantId: 'me-00000001', role: 'guest', roomSession: 'room-session-0123456789abcdef', status: 'waiting', media: null }, 0);
  const first = FakeSocket.all[0]!;
  first.open();
  first.serverSays({ type: 'waiting', position: 0 });
  expect(root.querySelector('section')?.getAttribute('id')).toBe('waiting-room');
  return { root, first };
}

function endScreen(root: FakeElement) {
  const buttons = root.all().filter((el) => el.tag === 'button').map((el) => el.textContent);
  return { message: root.querySelector('section')?.querySelector('h1')?.textContent, buttons };
}

describe('the waiting room socket drops for longer than the room waits', () => {
  it('the end screen says "Rejoin the meeting" and offers Rejoin', async () => {
    const { root, first } = await inWaitingRoom();
    // The laptop sleeps; the socket is gone. On waking the page reconnects with its room session.
    first.drop();
    await vi.waitFor(() => expect(FakeSocket.all.length).toBe(2), { timeout: 3_000 });
    const again = FakeSocket.all[1]!;
    again.open();
    // The room let the knock go meanwhile: refuseSocket → closeSocket.
    again.serverCloses('TOKEN_INVALID', 4001, 'this session has expired; join again');
    expect(endScreen(root)).toEqual({ message: 'Your session is no longer valid. Rejoin the meeting.', buttons: ['Rejoin'] });
  });
});

describe('the host denies the knock', () => {
  it('the end screen offers no Rejoin', async () => {
    const { root, first } = await inWaitingRoom();
    first.serverCloses('REMOVED_BY_HOST', 4003, 'the host did not let you in');
    expect(endScreen(root).buttons).toEqual([]);
  });
});

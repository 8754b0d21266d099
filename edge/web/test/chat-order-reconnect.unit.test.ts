import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { chatPanel } from '../src/meeting/chat-panel.js';
import type { ChatMessage } from '../src/wire.js';
import { assignment, chatMessage, fakeBrowser, inCall, leaveCalls, roomReconnects, view, welcome } from './call-fakes.js';

/**
 * The order of the chat after the room socket reconnects. The RoomDO accepts the new socket (it is
 * in the broadcasts from then on) and only then prepares the welcome (the media region, a token
 * signed): a message said meanwhile reaches the page live, as chat.message, before the welcome that
 * carries the older messages said while the page was away. The page shows every message once, in
 * the order said (sentAt, ties in the order received), in the Call and in the chat panel.
 */

/** Just enough DOM for the chat panel: elements with children, attributes and siblings. */
class FakeElement {
  readonly attributes = new Map<string, string>();
  children: FakeElement[] = [];
  parent: FakeElement | null = null;
  scrollTop = 0;
  scrollHeight = 0;
  clientHeight = 0;
  text = '';
  constructor(readonly tag: string) {}
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
  }
  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }
  addEventListener(): void {}
  appendChild(child: FakeElement): FakeElement {
    child.parent?.children.splice(child.parent.children.indexOf(child), 1);
    this.children.push(child);
    child.parent = this;
    return child;
  }
  append(...children: FakeElement[]): void {
    for (const child of children) this.appendChild(child);
  }
  replaceChildren(...children: FakeElement[]): void {
    for (const child of this.children) child.parent = null;
    this.children = [];
    this.append(...children);
  }
  remove(): void {
    this.parent?.children.splice(this.parent.children.indexOf(this), 1);
    this.parent = null;
  }
  get firstElementChild(): FakeElement | null {
    return this.children[0] ?? null;
  }
  get lastElementChild(): FakeElement | null {
    return this.children.at(-1) ?? null;
  }
  get nextElementSibling(): FakeElement | null {
    const siblings = this.parent?.children ?? [];
    return siblings[siblings.indexOf(this) + 1] ?? null;
  }
  get textContent(): string {
    return this.text + this.children.map((child) => child.textContent).join('');
  }
  find(cls: string): FakeElement | null {
    if ((this.getAttribute('class') ?? '').split(' ').includes(cls)) return this;
    for (const child of this.children) {
      const found = child.find(cls);
      if (found) return found;
    }
    return null;
  }
}

function fakeDocument(): void {
  vi.stubGlobal('document', {
    createElement: (tag: string) => new FakeElement(tag),
    createTextNode: (text: string) => Object.assign(new FakeElement('#text'), { text }),
  });
  vi.stubGlobal('requestAnimationFrame', () => 0);
}

beforeEach(() => {
  fakeBrowser();
});
afterEach(() => {
  leaveCalls();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

const texts = (chat: { text: string }[]) => chat.map((message) => message.text);
/** What the chat panel lists, in the order shown. */
const shownTexts = (panel: HTMLElement) => (panel as unknown as FakeElement).find('chat-log')!.children.map((item) => item.find('chat-text')!.textContent);

describe('chat order after the room socket reconnects', () => {
  /** In a call with 0…10 shown; the socket reconnects; 13 is said live before the welcome, which carries 0…13 (11 and 12 said while away). */
  async function liveBeforeWelcome() {
    const history = Array.from({ length: 14 }, (_, i) => chatMessage(i));
    const { call, room } = await inCall({ chat: history.slice(0, 11) });
    fakeDocument();
    const panel = chatPanel(call);
    const room2 = await roomReconnects(room);
    room2.serverSays({ type: 'chat.message', message: history[13] });
    room2.serverSays(welcome(view(), assignment('node-a'), { chat: history }));
    return { history, call, panel, room2 };
  }

  it('keeps the messages in the order said when one arrives live before the welcome that brings older ones', async () => {
    const { history, call } = await liveBeforeWelcome();
    expect(texts(call.chat)).toEqual(texts(history));
  });

  it('the chat panel lists them in the order said too, each once', async () => {
    const { history, panel, room2 } = await liveBeforeWelcome();
    expect(shownTexts(panel)).toEqual(texts(history));
    // And goes on appending what is said next.
    room2.serverSays({ type: 'chat.message', message: chatMessage(14) });
    expect(shownTexts(panel)).toEqual([...texts(history), 'message 14']);
  });

  it('shows a message that arrives again (live after the welcome carried it) once', async () => {
    const history = Array.from({ length: 5 }, (_, i) => chatMessage(i));
    const { call, room } = await inCall({ chat: history.slice(0, 3) });
    const room2 = await roomReconnects(room);
    room2.serverSays(welcome(view(), assignment('node-a'), { chat: history }));
    room2.serverSays({ type: 'chat.message', message: history[4] });
    room2.serverSays({ type: 'chat.message', message: history[2] });
    expect(texts(call.chat)).toEqual(texts(history));
  });

  it('keeps messages said in the same millisecond in the order received', async () => {
    const at = (i: number, sentAt: number): ChatMessage => ({ ...chatMessage(i), sentAt });
    const { call, room } = await inCall({ chat: [at(0, 10)] });
    room.serverSays({ type: 'chat.message', message: at(1, 20) });
    room.serverSays({ type: 'chat.message', message: at(2, 20) });
    const room2 = await roomReconnects(room);
    room2.serverSays({ type: 'chat.message', message: at(5, 30) });
    room2.serverSays(welcome(view(), assignment('node-a'), { chat: [at(0, 10), at(1, 20), at(2, 20), at(3, 20), at(4, 25), at(5, 30)] }));
    expect(texts(call.chat)).toEqual(['message 0', 'message 1', 'message 2', 'message 3', 'message 4', 'message 5']);
  });
});

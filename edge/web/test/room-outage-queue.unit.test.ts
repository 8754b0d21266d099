import { describe, expect, it, vi } from 'vitest';
import type { Call } from '../src/call/call.js';
import { FakeSocket, inCall, withFakeBrowser } from './call-fakes.js';

/**
 * Media and the room socket both down for a while (a network outage, a tab asleep): what the page
 * queues for the room meanwhile. The media link asks the room for a fresh assignment every few
 * seconds; those asks must not pile up (the room takes a burst of 6, and the queue is bounded), and
 * a chat message typed meanwhile is sent when the socket is back, or the person is told it was not.
 */

withFakeBrowser();

/** In a call, both sockets drop; every room reconnect attempt fails for `seconds` (`during(t, call)` runs each second); then one opens. */
async function outage(seconds: number, during: (t: number, call: Call) => void = () => undefined) {
  const { call, room, a } = await inCall();
  vi.useFakeTimers();
  a.events.lost('media signaling closed (1006)');
  room.drop();
  for (let t = 0; t < seconds; t++) {
    await vi.advanceTimersByTimeAsync(1_000);
    const last = FakeSocket.all.at(-1)!;
    if (last !== room && last.readyState === FakeSocket.CONNECTING) last.drop();
    during(t, call);
  }
  await vi.advanceTimersByTimeAsync(6_000);
  const back = FakeSocket.all.at(-1)!;
  back.open();
  return { call, back };
}

describe('media and room socket both down for a while', () => {
  it('the socket that comes back sends one media.refresh, not one per ask made during the outage', async () => {
    const { call, back } = await outage(60);
    expect(call.phase).toBe('in-call');
    expect(back.sent.filter((m) => m.type === 'media.refresh')).toEqual([{ type: 'media.refresh' }]);
  });

  it('a chat message typed late in a long outage is sent when the socket is back', async () => {
    const { back } = await outage(300, (t, call) => {
      if (t === 280) call.sendChat('sorry, my connection dropped');
    });
    expect(back.sent.filter((m) => m.type === 'chat.send')).toEqual([{ type: 'chat.send', text: 'sorry, my connection dropped' }]);
  });

  it('a chat message the full queue cannot take is not dropped silently: the person is told it was not sent', async () => {
    const results: boolean[] = [];
    const { call, back } = await outage(10, (t, call) => {
      if (t !== 5) return;
      // Many hand raises and lowers while the socket is down fill what waits for it.
      for (let i = 0; i < 60; i++) call.setHand(i % 2 === 0);
      results.push(call.sendChat('are you still there?'));
    });
    expect({ accepted: results, told: call.lastError }).toEqual({ accepted: [false], told: expect.stringMatching(/not sent/) });
    expect(back.sent.filter((m) => m.type === 'chat.send')).toEqual([]);
  });
});

import { describe, expect, it, vi } from 'vitest';
import type { Call } from '../src/call/call.js';
import type { RoomClientMessage } from '../src/wire.js';
import { FakeSocket, inCall, withFakeBrowser } from './call-fakes.js';

/**
 * What the person did while the room socket is down and its queue full (50 messages wait for it,
 * room-socket.ts PENDING_LIMIT): the queue refuses it, nothing is sent, then or later. The person
 * is told, as for a chat message (lastError, which the in-call banner shows): a hand raise, a
 * host's Remove, Admit, Deny, Mute, Lock, role change, unmute setting, recording, End for all.
 */

withFakeBrowser();

/** In a call, the room socket down (every reconnect fails), 50 chat messages typed meanwhile: the queue is full. */
async function queueFull(role: 'participant' | 'host' = 'participant') {
  const { call, room } = await inCall({ role });
  vi.useFakeTimers();
  room.drop();
  await vi.advanceTimersByTimeAsync(1_000);
  const last = FakeSocket.all.at(-1)!;
  if (last !== room && last.readyState === FakeSocket.CONNECTING) last.drop();
  for (let i = 0; i < 50; i++) expect(call.sendChat(`message ${i}`)).toBe(true);
  call.lastError = null;
  const status = { emitted: 0 };
  call.on('status', () => (status.emitted += 1));
  return { call, status };
}

/** The room socket comes back: what it sends. */
async function socketBack(): Promise<RoomClientMessage[]> {
  await vi.advanceTimersByTimeAsync(6_000);
  const back = FakeSocket.all.at(-1)!;
  back.open();
  return back.sent;
}

describe('what the full room queue refuses is not dropped silently', () => {
  it('a hand raised meanwhile: the person is told it was not sent, and the hand does not show raised', async () => {
    const { call, status } = await queueFull();
    expect(call.setHand(true)).toBe(false);
    expect({ told: call.lastError, bannerUpdated: status.emitted > 0 }).toEqual({ told: expect.stringMatching(/hand was not sent/), bannerUpdated: true });
    expect(call.self?.handRaised).toBe(false);
    const sent = await socketBack();
    expect(sent.filter((m) => m.type === 'chat.send')).toHaveLength(50);
    expect(sent.filter((m) => m.type === 'hand.set')).toEqual([]);
    expect(call.self?.handRaised).toBe(false);
  });

  const hostActions: Array<[string, RoomClientMessage, RegExp]> = [
    ['Remove', { type: 'host.remove', participantId: 'other-000001' }, /^Remove was not sent/],
    ['Admit', { type: 'host.admit', participantId: 'other-000002' }, /^Admit was not sent/],
    ['Deny', { type: 'host.deny', participantId: 'other-000002' }, /^Deny was not sent/],
    ['Mute', { type: 'host.mute', participantId: 'other-000001', kind: 'audio' }, /^Mute was not sent/],
    ['Lock meeting', { type: 'host.lock', locked: true }, /^Lock meeting was not sent/],
    ['Make co-host', { type: 'host.setRole', participantId: 'other-000001', role: 'cohost' }, /^The role change was not sent/],
    ['Let participants unmute', { type: 'host.allowUnmute', allowed: false }, /^The unmute setting was not sent/],
    ['Record', { type: 'recording.start' }, /^Start recording was not sent/],
    ['Stop recording', { type: 'recording.stop' }, /^Stop recording was not sent/],
  ];
  it.each(hostActions)("a host's %s meanwhile: call.send answers false and the person is told it was not sent", async (_name, message, told) => {
    const { call, status } = await queueFull('host');
    const sent = call.send(message);
    expect({ sent, told: call.lastError, bannerUpdated: status.emitted > 0 }).toEqual({ sent: false, told: expect.stringMatching(told), bannerUpdated: true });
    expect((await socketBack()).filter((m) => m.type === message.type)).toEqual([]);
  });

  it("End for all meanwhile: the host is told it was not sent (the meeting goes on)", async () => {
    const { call } = await queueFull('host');
    call.endForAll();
    expect(call.lastError).toMatch(/^End for all was not sent/);
  });
});

import { env, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryRecord } from '../../schema/wire/history.js';
import type { NodeEvent } from '../../schema/wire/node-control.js';
import type { RecordingState } from '../../schema/wire/room.js';
import { registerUser } from '../test/helpers.js';
import { connectFakeNode } from '../test/kits/fake-node.js';
import { configureMeeting, recordHistory, roomStub, seatedMeeting } from '../test/kits/room-kit.js';
import { onRecordingDeadline, onRecordingNodeLost, RECORDING_DEADLINE_PREFIX, stopRecording } from './recording.js';
import { CONTINUE_GIVE_UP_MS, CONTINUE_TIMER, partNotes, type ContinueDeps } from './recording-failover.js';
import type { RoomDO } from './room-do.js';
import { TIMERS_TABLE } from './timers.js';

/**
 * A recording in parts (its media node was lost and it went on, or tried to go on, on another):
 * no part passes for the whole recording, whenever its node reports it; every node that may be
 * recording a part nobody wants any more is told to stop; the room's part lines stay right.
 */
let host: Awaited<ReturnType<typeof registerUser>>;
let hostUserId: string;
beforeAll(async () => {
  host = await registerUser('Host Rec Parts');
  hostUserId = host.user.id;
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0).reverse()) done();
});

type StatusEvent = Extract<NodeEvent, { event: 'recordingStatus' }>;
type RecordingRecord = Extract<HistoryRecord, { kind: 'recording' }>;
// Sydney: this file's meetings with nodes (recording.test.ts's failover meetings are there too, one file at a time).
const SYDNEY = { latitude: '-33.8688', longitude: '151.2093' };
const file = (id: string) => ({ key: `recordings/${id}/composite.mp4`, kind: 'composite' as const, contentType: 'video/mp4', bytes: 1000, sha256: 'd'.repeat(64) });
const recordingOf = (linkId: string) => runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.room.meeting.recording());
const deadlineOf = (linkId: string, recordingId: string) =>
  runInDurableObject(roomStub(linkId), (_instance: RoomDO, ctx) =>
    ctx.storage.sql.exec<{ at: number }>(`SELECT at FROM ${TIMERS_TABLE} WHERE name = ?`, `${RECORDING_DEADLINE_PREFIX}${recordingId}`).toArray().at(0)?.at ?? null,
  );
const statusEvent = (linkId: string, recordingId: string, fields: Omit<StatusEvent, 'event' | 'meetingId' | 'recordingId'>): StatusEvent => ({ event: 'recordingStatus', meetingId: linkId, recordingId, ...fields });
const lastRecordOf = (history: HistoryRecord[], recordingId: string) => history.filter((r): r is RecordingRecord => r.kind === 'recording' && r.recordingId === recordingId).at(-1);
const continueDeps = (instance: RoomDO): ContinueDeps => ({ env: env as Env, recordingOn: (node) => instance.media.recordingOn(node) });

/** A recording in two parts (the first node was lost, the second part runs): state as the room keeps it. */
function twoParts(first: string, second: string, now: number): RecordingState {
  const state: RecordingState = {
    active: true,
    recordingId: second,
    startedAt: now - 60_000,
    status: 'recording',
    segments: [
      { recordingId: first, startedAt: now - 60_000, endedAt: now - 30_000, nodeLost: true },
      { recordingId: second, startedAt: now - 25_000, endedAt: null, nodeLost: false },
    ],
  };
  // As onContinueDue leaves it once part 2 started: a line per part.
  return { ...state, notes: partNotes(state) };
}

describe('a recording in parts: no part passes for the whole', () => {
  it('a part reported ready after the host started the next recording is published as one part (failed, incomplete), not as a whole ready recording', async () => {
    const room = await seatedMeeting({ host, region: 'syd', cf: SYDNEY, cleanup, guests: 0 });
    const linkId = room.settings.linkId;
    const history = await recordHistory(linkId);
    const first = crypto.randomUUID();
    const second = crypto.randomUUID();
    await runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
      instance.room.meeting.setRecording(twoParts(first, second, Date.now()));
      await stopRecording(instance.room, instance.media, 'host-participant-1');
    });
    // The host presses Record again at once: a new recording (the room's current one).
    expect(await room.host.socket.request({ type: 'recording.start' })).toMatchObject({ type: 'ack' });
    const next = (await recordingOf(linkId)).recordingId;
    expect(next).not.toBe(second);
    // Minutes later part 2's node finishes its composite: one part, never the whole recording.
    await roomStub(linkId).onNodeEvent(statusEvent(linkId, second, { status: 'ready', durationMs: 25_000, files: [file(second)] }));
    await expect.poll(() => lastRecordOf(history, second)?.files.length).toBe(1);
    expect(lastRecordOf(history, second)).toMatchObject({ status: 'failed', incomplete: true, notes: [expect.stringMatching(/^Part 2 of 2 .* to \d+:\d\d\.$/)] });
    // And part 1's node, back after a restart, too.
    await roomStub(linkId).onNodeEvent(statusEvent(linkId, first, { status: 'ready', durationMs: 30_000, files: [file(first)] }));
    await expect.poll(() => lastRecordOf(history, first)?.files.length).toBe(1);
    expect(lastRecordOf(history, first)).toMatchObject({ status: 'failed', incomplete: true, notes: [expect.stringMatching(/^Part 1 of 2/)] });
    expect(await recordingOf(linkId)).toMatchObject({ active: true, recordingId: next, status: 'recording' });
  });

  it('no node took the next part: the part the lost node captured is the only one, and when that node comes back and finishes it, it is not shown (nor published) as whole', async () => {
    const settings = await configureMeeting(hostUserId);
    const linkId = settings.linkId;
    const history = await recordHistory(linkId);
    const first = crypto.randomUUID();
    const lostAt = Date.now() - CONTINUE_GIVE_UP_MS - 5_000;
    await runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
      instance.room.meeting.setRecording({ active: true, recordingId: first, startedAt: lostAt - 65_000, status: 'recording' });
      await onRecordingNodeLost(instance.room, lostAt);
      // No node for the meeting: the continuation gives up (the meeting itself goes on).
      await onRecordingDeadline(instance.room, CONTINUE_TIMER, lostAt + CONTINUE_GIVE_UP_MS, continueDeps(instance));
    });
    expect(await recordingOf(linkId)).toMatchObject({ active: false, status: 'failed', incomplete: true, recordingId: first });
    // What the recordings list says of it: no "Part 1 of 2" of a part 2 that never existed.
    await expect.poll(() => lastRecordOf(history, first)?.notes?.[0]).toMatch(/^The only part .* to 1:05, when its media node was lost/);
    expect(lastRecordOf(history, first)?.notes?.join(' ')).not.toMatch(/Part 1 of 2/);
    // The lost node restarts and delivers the 1:05 it captured before it died.
    await roomStub(linkId).onNodeEvent(statusEvent(linkId, first, { status: 'ready', durationMs: 65_000, files: [file(first)] }));
    await expect.poll(() => lastRecordOf(history, first)?.files.length).toBe(1);
    expect(lastRecordOf(history, first)).toMatchObject({ status: 'failed', incomplete: true });
    expect(await recordingOf(linkId)).toMatchObject({ active: false, status: 'failed', incomplete: true, recordingId: first });
  });

  it('the continuation gives up while the new node has not answered its start: that node is told to stop, and its part is never published as a whole ready recording', { timeout: 60_000 }, async () => {
    // The meeting's node never answers commands in time (a loaded box): its start is unanswered.
    const room = await seatedMeeting({ host, region: 'syd', cf: SYDNEY, cleanup, guests: 0 });
    const linkId = room.settings.linkId;
    const history = await recordHistory(linkId);
    const first = crypto.randomUUID();
    const lostAt = Date.now() - CONTINUE_GIVE_UP_MS - 1_000;
    const pending = await runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
      instance.room.meeting.setRecording({ active: true, recordingId: first, startedAt: lostAt - 30_000, status: 'recording' });
      await onRecordingNodeLost(instance.room, lostAt);
      const id = instance.room.meeting.recording().recordingId!;
      // The try runs into the give-up while the node has not answered (it may well have started).
      await onRecordingDeadline(instance.room, CONTINUE_TIMER, Date.now(), continueDeps(instance));
      return id;
    });
    expect(room.node.commands('startRecording')).toContainEqual({ command: 'startRecording', meetingId: linkId, recordingId: pending });
    expect(await recordingOf(linkId)).toMatchObject({ active: false, status: 'failed', recordingId: first });
    expect(room.node.commands('stopRecording')).toContainEqual({ command: 'stopRecording', meetingId: linkId, recordingId: pending });
    // That node had started it: once stopped, it finishes the part and reports it ready.
    await roomStub(linkId).onNodeEvent(statusEvent(linkId, pending, { status: 'ready', durationMs: 3_000, files: [file(pending)] }));
    await expect.poll(() => lastRecordOf(history, pending)?.files.length).toBe(1);
    expect(lastRecordOf(history, pending)).toMatchObject({ status: 'failed', incomplete: true });
    expect(await recordingOf(linkId)).toMatchObject({ active: false, status: 'failed', recordingId: first });
  });

  it('Stop pressed in the gap after a start the new node has not answered yet: that node is told to stop too (it may be recording)', { timeout: 60_000 }, async () => {
    const room = await seatedMeeting({ host, region: 'syd', cf: SYDNEY, cleanup, guests: 0 });
    const linkId = room.settings.linkId;
    const first = crypto.randomUUID();
    const pending = await runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
      instance.room.meeting.setRecording({ active: true, recordingId: first, startedAt: Date.now() - 30_000, status: 'recording' });
      await onRecordingNodeLost(instance.room);
      const id = instance.room.meeting.recording().recordingId!;
      // The node is slow: the start stays unanswered (it is queued there and may still run), tried again later.
      await onRecordingDeadline(instance.room, CONTINUE_TIMER, Date.now(), continueDeps(instance));
      expect(instance.room.meeting.recording()).toMatchObject({ active: true, recordingId: id });
      await stopRecording(instance.room, instance.media, 'host-participant-1');
      return id;
    });
    expect(room.node.commands('startRecording')).toContainEqual({ command: 'startRecording', meetingId: linkId, recordingId: pending });
    expect(await recordingOf(linkId)).toMatchObject({ active: false, status: 'failed', recordingId: first });
    expect(room.node.commands('stopRecording')).toContainEqual({ command: 'stopRecording', meetingId: linkId, recordingId: pending });
  });

  it('the meeting leaves a node (drain) while it is starting the next part: that node is told to stop it, and the part goes on on the meeting’s new node under a new id', { timeout: 60_000 }, async () => {
    const room = await seatedMeeting({ host, region: 'syd', cf: SYDNEY, cleanup, guests: 0 });
    const linkId = room.settings.linkId;
    const history = await recordHistory(linkId);
    const spare = await connectFakeNode({ region: 'syd' });
    cleanup.push(() => spare.retire());
    spare.answerCommands();
    const first = crypto.randomUUID();
    const pending = await runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
      instance.room.meeting.setRecording({ active: true, recordingId: first, startedAt: Date.now() - 30_000, status: 'recording' });
      await onRecordingNodeLost(instance.room);
      return instance.room.meeting.recording().recordingId!;
    });
    // The continuation asks the meeting's node (a loaded box: it answers after a few seconds).
    const continuing = runInDurableObject(roomStub(linkId), (instance: RoomDO) => onRecordingDeadline(instance.room, CONTINUE_TIMER, Date.now(), continueDeps(instance)));
    const asked = await room.node.inbox.next((m) => m.type === 'command' && m.command.command === 'startRecording');
    // Meanwhile that node starts draining: the meeting moves to the spare.
    room.node.heartbeat({}, 'draining');
    await room.host.socket.next('media.assignment', (m) => m.media.nodeId === spare.nodeId, 10_000);
    // Now the draining node answers its start (it would record there until it closes the meeting).
    if (asked.type === 'command') room.node.send({ type: 'commandResult', commandId: asked.commandId, ok: true });
    await continuing;
    expect(room.node.commands('stopRecording')).toContainEqual({ command: 'stopRecording', meetingId: linkId, recordingId: pending });
    const fresh = (await recordingOf(linkId)).segments?.at(-1)?.recordingId;
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(pending);
    // The next part starts on the spare (the room's alarm tries at once).
    await expect.poll(() => spare.commands('startRecording').some((c) => c.command === 'startRecording' && c.recordingId === fresh), { timeout: 10_000 }).toBe(true);
    await expect.poll(async () => (await recordingOf(linkId)).segments?.at(-1)?.startedAt ?? null, { timeout: 10_000 }).not.toBeNull();
    expect(await recordingOf(linkId)).toMatchObject({ active: true, status: 'recording', recordingId: fresh });
    // What the node it left captured arrives as a part of its own, never as the running part or as a whole recording.
    await roomStub(linkId).onNodeEvent(statusEvent(linkId, pending, { status: 'processing', durationMs: 2_000 }));
    await roomStub(linkId).onNodeEvent(statusEvent(linkId, pending, { status: 'ready', durationMs: 2_000, files: [file(pending)] }));
    await expect.poll(() => lastRecordOf(history, pending)?.files.length).toBe(1);
    expect(lastRecordOf(history, pending)).toMatchObject({ status: 'failed', incomplete: true });
    expect(await recordingOf(linkId)).toMatchObject({ active: true, status: 'recording', recordingId: fresh });
  });
});

describe('a recording in parts: the meeting ends, the deadline passes', () => {
  it('the meeting ends while the next part waits for the new node: the recording ends with the parts it has (as a Stop does), with no deadline for a part that never started', async () => {
    const settings = await configureMeeting(hostUserId);
    const linkId = settings.linkId;
    const first = crypto.randomUUID();
    await runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
      instance.room.meeting.setRecording({ active: true, recordingId: first, startedAt: Date.now() - 40_000, status: 'recording' });
      await onRecordingNodeLost(instance.room);
    });
    const pending = (await recordingOf(linkId)).recordingId!;
    expect(pending).not.toBe(first);
    // The host ends the meeting for everyone during the gap.
    await roomStub(linkId).end();
    const ended = await recordingOf(linkId);
    expect(await deadlineOf(linkId, pending)).toBeNull();
    expect(ended).toMatchObject({ active: false, status: 'failed', incomplete: true, recordingId: first });
    expect(ended.notes?.at(-1)).toMatch(/The meeting ended before the recording could go on on another media node/);
  });

  it('the meeting ends while part 2 runs: part 2 gets its end, so the part notes do not say it is still "on"', async () => {
    const settings = await configureMeeting(hostUserId);
    const linkId = settings.linkId;
    const first = crypto.randomUUID();
    const second = crypto.randomUUID();
    await runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.room.meeting.setRecording(twoParts(first, second, Date.now())));
    await roomStub(linkId).end();
    expect(await deadlineOf(linkId, second)).not.toBeNull();
    await roomStub(linkId).onNodeEvent(statusEvent(linkId, second, { status: 'ready', durationMs: 25_000, files: [file(second)] }));
    const ended = await recordingOf(linkId);
    expect(ended).toMatchObject({ active: false, status: 'failed', incomplete: true, recordingId: second });
    expect(ended.segments?.every((part) => part.endedAt !== null)).toBe(true);
    expect(ended.notes?.[1]).toMatch(/^Part 2 of 2 .* to \d+:\d\d\.$/);
  });

  it('a recording in parts whose last node goes quiet after the Stop: the deadline’s verdict still lists the parts and the gap', async () => {
    const settings = await configureMeeting(hostUserId);
    const linkId = settings.linkId;
    const history = await recordHistory(linkId);
    const first = crypto.randomUUID();
    const second = crypto.randomUUID();
    await runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
      instance.room.meeting.setRecording(twoParts(first, second, Date.now()));
      await stopRecording(instance.room, instance.media, 'host-participant-1');
    });
    expect((await recordingOf(linkId)).notes?.slice(0, 2)).toEqual([expect.stringMatching(/^Part 1 of 2/), expect.stringMatching(/^Part 2 of 2 .* to \d+:\d\d\.$/)]);
    await runInDurableObject(roomStub(linkId), (instance: RoomDO) => onRecordingDeadline(instance.room, `${RECORDING_DEADLINE_PREFIX}${second}`));
    const state = await recordingOf(linkId);
    expect(state).toMatchObject({ active: false, status: 'failed' });
    expect(state.notes).toEqual([expect.stringMatching(/^Part 1 of 2/), expect.stringMatching(/^Part 2 of 2/), expect.stringMatching(/did not finish this recording in time/)]);
    await expect.poll(() => lastRecordOf(history, second)?.status).toBe('failed');
    expect(lastRecordOf(history, second)?.notes).toEqual([expect.stringMatching(/^Part 2 of 2/), expect.stringMatching(/did not finish this recording in time/)]);
  });
});

import { env, runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryRecord } from '../../schema/wire/history.js';
import type { NodeCommand, NodeEvent } from '../../schema/wire/node-control.js';
import { registerUser } from '../test/helpers.js';
import { connectFakeNode } from '../test/kits/fake-node.js';
import { configureMeeting, recordHistory, roomStub, seatedMeeting } from '../test/kits/room-kit.js';
import { onRecordingDeadline, onRecordingNodeLost, RECORDING_DEADLINE_PREFIX, RECORDING_FINISH_MIN_MS, stopRecording } from './recording.js';
import { CONTINUE_GIVE_UP_MS, CONTINUE_TIMER, type ContinueDeps } from './recording-failover.js';
import type { RoomDO } from './room-do.js';
import { TIMERS_TABLE } from './timers.js';

/**
 * What the room keeps of a recording after the stop: the node's verdict with its notes, and its
 * own deadline when the node goes quiet. The room is driven through its real entry points (node
 * events through the RoomDO's RPC) with no media node: stopping tells none, which is fine here.
 */
let host: Awaited<ReturnType<typeof registerUser>>;
let hostUserId: string;
beforeAll(async () => {
  host = await registerUser('Host Rec');
  hostUserId = host.user.id;
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0).reverse()) done();
});

type StatusEvent = Extract<NodeEvent, { event: 'recordingStatus' }>;

/** A meeting whose recording of 8 s was just stopped by its host (the room now waits for the node). */
async function stoppedRecording() {
  const settings = await configureMeeting(hostUserId);
  const history = await recordHistory(settings.linkId);
  const recordingId = crypto.randomUUID();
  const stoppedAt = Date.now();
  await runInDurableObject(roomStub(settings.linkId), async (instance: RoomDO) => {
    instance.room.meeting.setRecording({ active: true, recordingId, startedAt: stoppedAt - 8_000, status: 'recording' });
    await stopRecording(instance.room, instance.media, 'host-participant-1');
  });
  const stub = roomStub(settings.linkId);
  const event = (fields: Omit<StatusEvent, 'event' | 'meetingId' | 'recordingId'>) => stub.onNodeEvent({ event: 'recordingStatus', meetingId: settings.linkId, recordingId, ...fields });
  const state = () => runInDurableObject(stub, (instance: RoomDO) => instance.room.meeting.recording());
  const deadline = () =>
    runInDurableObject(stub, (_instance: RoomDO, ctx) =>
      ctx.storage.sql.exec<{ at: number }>(`SELECT at FROM ${TIMERS_TABLE} WHERE name = ?`, `${RECORDING_DEADLINE_PREFIX}${recordingId}`).toArray().at(0)?.at ?? null,
    );
  const recordsOf = (status: string) => history.filter((r): r is Extract<HistoryRecord, { kind: 'recording' }> => r.kind === 'recording' && r.recordingId === recordingId && r.status === status);
  return { settings, stub, recordingId, stoppedAt, event, state, deadline, recordsOf };
}

const file = (recordingId: string) => ({ key: `recordings/${recordingId}/composite.mp4`, kind: 'composite' as const, contentType: 'video/mp4', bytes: 1000, sha256: 'b'.repeat(64) });

describe('recording status in the room', () => {
  it('says "starting" from Record until the node reports its capture window open', async () => {
    const room = await seatedMeeting({ host, region: 'syd', cf: { latitude: '-33.8688', longitude: '151.2093' }, cleanup, guests: 0 });
    const linkId = room.settings.linkId;
    expect(await room.host.socket.request({ type: 'recording.start' })).toMatchObject({ type: 'ack' });
    const { recordingId } = await room.node.command('startRecording', linkId);
    const recording = () => runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.room.meeting.recording());
    expect(await recording()).toMatchObject({ active: true, recordingId, status: 'recording', capturing: false });
    await roomStub(linkId).onNodeEvent({ event: 'recordingStatus', meetingId: linkId, recordingId, status: 'recording' });
    expect(await recording()).toMatchObject({ active: true, recordingId, status: 'recording', capturing: true });
  });

  it('a start the node refuses (it says so for that recording): the room shows it failed, with why, and Record works again', async () => {
    const room = await seatedMeeting({ host, region: 'syd', cf: { latitude: '-33.8688', longitude: '151.2093' }, cleanup, guests: 0 });
    const linkId = room.settings.linkId;
    expect(await room.host.socket.request({ type: 'recording.start' })).toMatchObject({ type: 'ack' });
    const { recordingId } = await room.node.command('startRecording', linkId);
    const note = 'The recording could not start: recording is not available on this node';
    await roomStub(linkId).onNodeEvent({ event: 'recordingStatus', meetingId: linkId, recordingId, status: 'failed', error: { code: 'MEDIA_ERROR', message: 'recording is not available on this node' }, notes: [note] });
    const recording = () => runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.room.meeting.recording());
    expect(await recording()).toMatchObject({ active: false, recordingId, status: 'failed', notes: [note] });
    expect(await room.host.socket.request({ type: 'recording.start' })).toMatchObject({ type: 'ack' });
    await expect.poll(() => room.node.commands('startRecording').length).toBe(2);
    const again = room.node.commands('startRecording')[1] as Extract<NodeCommand, { command: 'startRecording' }>;
    expect(again.recordingId).not.toBe(recordingId);
    expect(await recording()).toMatchObject({ active: true, recordingId: again.recordingId, status: 'recording' });
  });

  it('keeps an incomplete verdict with its notes and the node’s length, in the room and in history; a late "recording" does not undo it', async () => {
    const rec = await stoppedRecording();
    expect(await rec.state()).toMatchObject({ active: false, status: 'processing' });
    const notes = ["Ann's microphone: missing from 0:02 to 0:05 (silence there)"];
    await rec.event({ status: 'failed', incomplete: true, notes, durationMs: 8_123, files: [file(rec.recordingId)], error: { code: 'MEDIA_ERROR', message: 'the recording is not whole' } });
    expect(await rec.state()).toEqual({ active: false, recordingId: rec.recordingId, startedAt: rec.stoppedAt - 8_000, status: 'failed', incomplete: true, notes, durationMs: 8_123 });
    await expect.poll(() => rec.recordsOf('failed').length).toBe(1);
    expect(rec.recordsOf('failed')[0]).toMatchObject({ incomplete: true, notes, durationMs: 8_123, error: 'the recording is not whole' });
    // Final: no deadline left; a "recording" event that was late on the way changes nothing.
    expect(await rec.deadline()).toBeNull();
    await rec.event({ status: 'recording' });
    expect(await rec.state()).toMatchObject({ active: false, status: 'failed', incomplete: true, notes });
  });

  it('a failure without notes shows its error as the note; a whole recording shows none', async () => {
    const failed = await stoppedRecording();
    await failed.event({ status: 'failed', durationMs: 3_000, files: [], error: { code: 'MEDIA_ERROR', message: 'no media: 2 tracks were live but nothing was captured' } });
    expect(await failed.state()).toMatchObject({ status: 'failed', notes: ['no media: 2 tracks were live but nothing was captured'] });
    expect((await failed.state()).incomplete).toBeUndefined();

    const whole = await stoppedRecording();
    await whole.event({ status: 'processing', durationMs: 8_000, notes: ['a note from before'] });
    await whole.event({ status: 'ready', durationMs: 8_000, files: [file(whole.recordingId)] });
    const state = await whole.state();
    expect(state).toMatchObject({ status: 'ready', durationMs: 8_000 });
    expect(state.notes).toBeUndefined();
  });

  it('a node that goes quiet after the stop: the deadline moves with each status it sends, then marks the recording failed with a note; its later report still wins', async () => {
    const rec = await stoppedRecording();
    const armed = (await rec.deadline())!;
    expect(armed).toBeGreaterThanOrEqual(rec.stoppedAt + RECORDING_FINISH_MIN_MS);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await rec.event({ status: 'uploading', durationMs: 8_000 });
    const moved = (await rec.deadline())!;
    expect(moved).toBeGreaterThan(armed);

    await runInDurableObject(rec.stub, (instance: RoomDO) => onRecordingDeadline(instance.room, `${RECORDING_DEADLINE_PREFIX}${rec.recordingId}`));
    const state = await rec.state();
    expect(state).toMatchObject({ active: false, status: 'failed' });
    expect(state.notes?.[0]).toMatch(/did not finish this recording in time \(last reported: uploading\)/);
    await expect.poll(() => rec.recordsOf('failed').length).toBe(1);
    expect(rec.recordsOf('failed')[0]).toMatchObject({ error: 'the media node did not finish the recording in time', durationMs: null, files: [] });

    // The node was only slow: its verdict replaces the room's.
    await rec.event({ status: 'ready', durationMs: 8_000, files: [file(rec.recordingId)] });
    expect(await rec.state()).toMatchObject({ status: 'ready', durationMs: 8_000 });
    expect((await rec.state()).notes).toBeUndefined();
  });

  it('a deadline of an earlier recording, after a new one started, writes its history only', async () => {
    const rec = await stoppedRecording();
    const next = crypto.randomUUID();
    await runInDurableObject(rec.stub, async (instance: RoomDO) => {
      instance.room.meeting.setRecording({ active: true, recordingId: next, startedAt: Date.now(), status: 'recording' });
      await onRecordingDeadline(instance.room, `${RECORDING_DEADLINE_PREFIX}${rec.recordingId}`);
    });
    expect(await rec.state()).toMatchObject({ active: true, recordingId: next, status: 'recording' });
    await expect.poll(() => rec.recordsOf('failed').length).toBe(1);
  });

  it('a node verdict that arrives while the Stop is on its way to the node stands: not overwritten by "processing", and no deadline left to replace it', async () => {
    const settings = await configureMeeting(hostUserId);
    const linkId = settings.linkId;
    const history = await recordHistory(linkId);
    const recordingId = crypto.randomUUID();
    const note = 'The recording failed: the capture of every track stopped (disk full)';
    await runInDurableObject(roomStub(linkId), async (instance: RoomDO) => {
      instance.room.meeting.setRecording({ active: true, recordingId, startedAt: Date.now() - 8_000, status: 'recording', capturing: true });
      // The node's own 'failed' (sent just before it got the stop) is handled while the stop command is in flight.
      const real = instance.media.commandNode.bind(instance.media);
      instance.media.commandNode = async (command: NodeCommand) => {
        if (command.command === 'stopRecording') {
          await instance.onNodeEvent({ event: 'recordingStatus', meetingId: linkId, recordingId, status: 'failed', durationMs: 8_000, files: [file(recordingId)], incomplete: true, notes: [note], error: { code: 'MEDIA_ERROR', message: 'capture stopped' } });
        }
        return real(command);
      };
      await stopRecording(instance.room, instance.media, 'host-participant-1');
    });
    const state = await runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.room.meeting.recording());
    expect(state).toMatchObject({ active: false, status: 'failed', incomplete: true, notes: [note] });
    // The room's deadline would later replace the node's verdict in history: none is armed.
    const deadline = await runInDurableObject(roomStub(linkId), (_instance: RoomDO, ctx) => ctx.storage.sql.exec(`SELECT at FROM ${TIMERS_TABLE} WHERE name = ?`, `${RECORDING_DEADLINE_PREFIX}${recordingId}`).toArray());
    expect(deadline).toEqual([]);
    await expect.poll(() => history.some((r) => r.kind === 'analytics' && r.event === 'recording_stopped')).toBe(true);
    expect(history.filter((r) => r.kind === 'recording' && r.recordingId === recordingId).at(-1)).toMatchObject({ status: 'failed', incomplete: true, notes: [note] });
  });
});

// This file's failover meetings are in Sydney (its own region: no other test file's nodes there).
const SYDNEY = { latitude: '-33.8688', longitude: '151.2093' };
type RecordingRecord = Extract<HistoryRecord, { kind: 'recording' }>;

const continueDeps = (instance: RoomDO): ContinueDeps => ({ env: env as Env, recordingOn: (node) => instance.media.recordingOn(node) });
/** The room's continuation timer, run now (as the alarm would when it is due). */
const continueNow = (linkId: string, now = Date.now()) =>
  runInDurableObject(roomStub(linkId), (instance: RoomDO) => onRecordingDeadline(instance.room, CONTINUE_TIMER, now, continueDeps(instance)));
const recordingOf = (linkId: string) => runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.room.meeting.recording());
const timerArmed = (linkId: string) =>
  runInDurableObject(roomStub(linkId), (_instance: RoomDO, ctx) => ctx.storage.sql.exec(`SELECT at FROM ${TIMERS_TABLE} WHERE name = ?`, CONTINUE_TIMER).toArray().length > 0);

describe('a recording across a failover (issue 11 point 6)', () => {
  it('goes on on the new node as a further part; no part passes for the whole; the room lists the parts and the gap', async () => {
    const room = await seatedMeeting({ host, region: 'syd', cf: SYDNEY, cleanup, guests: 1 });
    const linkId = room.settings.linkId;
    const history = await recordHistory(linkId);
    const spare = await connectFakeNode({ region: 'syd' });
    cleanup.push(() => spare.retire());
    // The new node has no room for the meeting until a participant reconnects there.
    let reconnected = false;
    spare.answerCommands((command) => (command.command === 'startRecording' && !reconnected ? { ok: false, code: 'MEETING_NOT_FOUND', message: 'meeting is not on this node' } : undefined));

    expect(await room.host.socket.request({ type: 'recording.start' })).toMatchObject({ type: 'ack' });
    const first = (await room.node.command('startRecording', linkId)).recordingId;
    room.node.crash();
    await room.host.socket.next('media.assignment', (m) => m.media.nodeId === spare.nodeId);

    // Still recording for everyone, as part 2 of 2 waiting for the new node.
    const waiting = await recordingOf(linkId);
    expect(waiting).toMatchObject({ active: true, status: 'recording' });
    expect(waiting.recordingId).not.toBe(first);
    const second = waiting.recordingId!;
    expect(waiting.segments).toEqual([
      { recordingId: first, startedAt: expect.any(Number), endedAt: expect.any(Number), nodeLost: true },
      { recordingId: second, startedAt: null, endedAt: null, nodeLost: false },
    ]);
    expect(waiting.notes?.[0]).toMatch(/^Part 1 of 2 .*when its media node was lost\.$/);
    await expect.poll(() => history.some((r) => r.kind === 'recording' && r.recordingId === first && r.status === 'failed' && /Part 1 of 2/.test(r.notes?.[0] ?? ''))).toBe(true);
    expect(await timerArmed(linkId)).toBe(true);

    // The new node refuses while nobody reconnected there (and says so, as a node does for any
    // start it refuses): tried again later, nothing changes.
    await continueNow(linkId);
    expect(spare.commands('startRecording')).toEqual([{ command: 'startRecording', meetingId: linkId, recordingId: second }]);
    await roomStub(linkId).onNodeEvent({ event: 'recordingStatus', meetingId: linkId, recordingId: second, status: 'failed', error: { code: 'MEETING_NOT_FOUND', message: 'meeting is not on this node' }, notes: ['The recording could not start: meeting is not on this node'] });
    expect(await recordingOf(linkId)).toMatchObject({ active: true, status: 'recording', recordingId: second });
    expect((await recordingOf(linkId)).segments?.[1]?.startedAt).toBeNull();
    expect(await timerArmed(linkId)).toBe(true);
    // A participant reconnected: part 2 starts there, with its own id (its own files and upload grant).
    reconnected = true;
    spare.participantJoined(linkId, room.host.participantId);
    await continueNow(linkId);
    const running = await recordingOf(linkId);
    expect(running).toMatchObject({ active: true, status: 'recording', recordingId: second });
    expect(running.segments?.[1]?.startedAt).toEqual(expect.any(Number));
    expect(running.notes?.[1]).toMatch(/^Part 2 of 2 .*: from \d+:\d\d, \d+ s missing before it on\.$/);
    expect(spare.commands('startRecording')).toHaveLength(2);
    await expect.poll(() => history.some((r) => r.kind === 'recording' && r.recordingId === second && r.status === 'recording')).toBe(true);

    // The lost node comes back and finishes its part: not 'ready' (it is not the whole recording).
    const file = (id: string) => ({ key: `recordings/${id}/composite.mp4`, kind: 'composite' as const, contentType: 'video/mp4', bytes: 1000, sha256: 'c'.repeat(64) });
    const stub = roomStub(linkId);
    await stub.onNodeEvent({ event: 'recordingStatus', meetingId: linkId, recordingId: first, status: 'ready', durationMs: 3_000, files: [file(first)] });
    await expect.poll(() => history.filter((r): r is RecordingRecord => r.kind === 'recording' && r.recordingId === first).at(-1)?.files.length).toBe(1);
    expect(history.filter((r): r is RecordingRecord => r.kind === 'recording' && r.recordingId === first).at(-1)).toMatchObject({ status: 'failed', incomplete: true, notes: [expect.stringMatching(/^Part 1 of 2/)] });
    expect(await recordingOf(linkId)).toMatchObject({ active: true, status: 'recording', recordingId: second });

    // The host stops: the new node stops part 2; its 'ready' leaves the recording incomplete, parts listed.
    expect(await room.host.socket.request({ type: 'recording.stop' })).toMatchObject({ type: 'ack' });
    expect(await spare.command('stopRecording', linkId)).toMatchObject({ recordingId: second });
    await stub.onNodeEvent({ event: 'recordingStatus', meetingId: linkId, recordingId: second, status: 'ready', durationMs: 4_000, files: [file(second)] });
    const ended = await recordingOf(linkId);
    expect(ended).toMatchObject({ active: false, status: 'failed', incomplete: true, recordingId: second });
    expect(ended.segments?.map((part) => part.recordingId)).toEqual([first, second]);
    expect(ended.segments?.every((part) => part.endedAt !== null)).toBe(true);
    expect(ended.notes?.slice(0, 2)).toEqual([expect.stringMatching(/^Part 1 of 2/), expect.stringMatching(/^Part 2 of 2 .*s missing before it to \d+:\d\d\.$/)]);
    await expect.poll(() => history.some((r) => r.kind === 'recording' && r.recordingId === second && r.status === 'failed' && r.incomplete === true)).toBe(true);
    expect(history.some((r) => r.kind === 'recording' && r.status === 'ready')).toBe(false);
  });

  it('no node takes the next part in time: the recording ends with the part it has, failed and incomplete, with notes', async () => {
    const settings = await configureMeeting(hostUserId);
    const first = crypto.randomUUID();
    const lostAt = Date.now();
    const state = await runInDurableObject(roomStub(settings.linkId), async (instance: RoomDO) => {
      instance.room.meeting.setRecording({ active: true, recordingId: first, startedAt: lostAt - 65_000, status: 'recording' });
      await onRecordingNodeLost(instance.room, lostAt);
      // No node for the meeting (none placed it): tried until the give-up.
      await onRecordingDeadline(instance.room, CONTINUE_TIMER, lostAt + 1_000, continueDeps(instance));
      expect(instance.room.meeting.recording().active).toBe(true);
      await onRecordingDeadline(instance.room, CONTINUE_TIMER, lostAt + CONTINUE_GIVE_UP_MS, continueDeps(instance));
      return instance.room.meeting.recording();
    });
    expect(state).toMatchObject({ active: false, status: 'failed', incomplete: true, recordingId: first });
    expect(state.notes).toEqual([expect.stringMatching(/media node recording this meeting was lost at 1:05/), expect.stringMatching(/No media node took the recording on within 120 s/)]);
    expect(await timerArmed(settings.linkId)).toBe(false);
  });

  it('a stop before the next part started ends it there, with the part it has', async () => {
    const settings = await configureMeeting(hostUserId);
    const first = crypto.randomUUID();
    const state = await runInDurableObject(roomStub(settings.linkId), async (instance: RoomDO) => {
      instance.room.meeting.setRecording({ active: true, recordingId: first, startedAt: Date.now() - 5_000, status: 'recording' });
      await onRecordingNodeLost(instance.room);
      await stopRecording(instance.room, instance.media, 'host-participant-1');
      return instance.room.meeting.recording();
    });
    expect(state).toMatchObject({ active: false, status: 'failed', incomplete: true, recordingId: first });
    expect(state.notes?.at(-1)).toMatch(/Stopped before the recording could go on on another media node/);
    expect(await timerArmed(settings.linkId)).toBe(false);
  });
});

import { runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HistoryRecord } from '../../schema/wire/history.js';
import type { NodeEvent } from '../../schema/wire/node-control.js';
import { registerUser } from '../test/helpers.js';
import { configureMeeting, recordHistory, roomStub } from '../test/kits/room-kit.js';
import { onRecordingDeadline, onRecordingNodeLost, RECORDING_DEADLINE_PREFIX, RECORDING_FINISH_MIN_MS, stopRecording } from './recording.js';
import type { RoomDO } from './room-do.js';
import { TIMERS_TABLE } from './timers.js';

/**
 * What the room keeps of a recording after the stop: the node's verdict with its notes, and its
 * own deadline when the node goes quiet. The room is driven through its real entry points (node
 * events through the RoomDO's RPC) with no media node: stopping tells none, which is fine here.
 */
let hostUserId: string;
beforeAll(async () => {
  hostUserId = (await registerUser('Host Rec')).user.id;
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

  it('the recording node is lost: failed for the room and in history, with a note', async () => {
    const settings = await configureMeeting(hostUserId);
    const history = await recordHistory(settings.linkId);
    const recordingId = crypto.randomUUID();
    const state = await runInDurableObject(roomStub(settings.linkId), async (instance: RoomDO) => {
      instance.room.meeting.setRecording({ active: true, recordingId, startedAt: Date.now() - 5_000, status: 'recording' });
      await onRecordingNodeLost(instance.room);
      return instance.room.meeting.recording();
    });
    expect(state).toMatchObject({ active: false, recordingId, status: 'failed' });
    expect(state.notes?.[0]).toMatch(/media node recording this meeting was lost/);
    await expect.poll(() => history.some((r) => r.kind === 'recording' && r.recordingId === recordingId && r.status === 'failed' && r.notes?.length === 1)).toBe(true);
  });
});

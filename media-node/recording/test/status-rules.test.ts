import { describe, expect, it } from 'vitest';
import { nodeEventSchema } from '../../../schema/wire/node-control.js';
import { recordingStatusEvent } from '../controller.js';
import { clip, subtract, totalMs, union } from '../intervals.js';
import { afterUpload, recordingVerdict, trackNotes, type RecordingFacts, type TrackFacts } from '../status-rules.js';

const T0 = 1_700_000_000_000;
const span = (fromSec: number, toSec: number) => ({ from: T0 + fromSec * 1000, to: T0 + toSec * 1000 });
const track = (over: Partial<TrackFacts> = {}): TrackFacts => ({
  trackId: 'host-mic-audio',
  participantId: 'host-0000001',
  displayName: 'Ann',
  source: 'mic',
  kind: 'audio',
  live: [span(0, 8)],
  captured: [span(0, 8)],
  troubles: [],
  ...over,
});
const facts = (over: Partial<RecordingFacts> = {}): RecordingFacts => ({
  window: span(0, 8),
  tracks: [track(), track({ trackId: 'host-camera-video', source: 'camera', kind: 'video' })],
  diskFull: null,
  compositeError: null,
  compositeFile: 'composite.mp4',
  integrity: [],
  ...over,
});

describe('intervals', () => {
  it('merges, clips and subtracts spans', () => {
    expect(union([span(3, 4), span(0, 1), span(0.5, 2), span(5, 5)])).toEqual([span(0, 2), span(3, 4)]);
    expect(clip([span(-2, 1), span(7, 12)], span(0, 8))).toEqual([span(0, 1), span(7, 8)]);
    expect(subtract([span(0, 8)], [span(1, 2), span(5, 9)])).toEqual([span(0, 1), span(2, 5)]);
    expect(subtract([span(0, 2)], [])).toEqual([span(0, 2)]);
    expect(totalMs([span(0, 1), span(0.5, 2)])).toBe(2000);
  });
});

describe('recording status rules', () => {
  it('ready: every live track fully captured, composite built and checked', () => {
    expect(recordingVerdict(facts())).toEqual({ status: 'ready', notes: [] });
  });

  it('ready: a muted mic and a camera off for part of the window are not missing media', () => {
    const verdict = recordingVerdict(
      facts({
        tracks: [
          track({ live: [span(0, 2), span(5, 8)], captured: [span(0, 2), span(5, 8)] }),
          track({ trackId: 'host-camera-video', source: 'camera', kind: 'video', live: [span(3, 8)], captured: [span(3.2, 8)] }),
        ],
      }),
    );
    expect(verdict.status).toBe('ready');
  });

  it('ready: a track published after the start counts from its publication', () => {
    const late = track({ participantId: 'late-0000001', displayName: 'Bo', live: [span(4, 8)], captured: [span(4.3, 8)] });
    expect(recordingVerdict(facts({ tracks: [track(), late] })).status).toBe('ready');
  });

  it('failed: nothing was published at all', () => {
    const verdict = recordingVerdict(facts({ tracks: [] }));
    expect(verdict.status).toBe('failed');
    expect(verdict.error).toEqual({ code: 'MEDIA_ERROR', message: expect.stringMatching(/^no media: nobody published/) });
  });

  it('failed: tracks were published but all muted or off', () => {
    const verdict = recordingVerdict(facts({ tracks: [track({ live: [], captured: [] })] }));
    expect(verdict).toMatchObject({ status: 'failed', error: { code: 'MEDIA_ERROR', message: expect.stringMatching(/muted or off the whole time/) } });
  });

  it('failed: tracks were live but nothing was captured (the "no input at all" recording)', () => {
    const verdict = recordingVerdict(facts({ tracks: [track({ captured: [], troubles: ['capture could not start (boom)'] })] }));
    expect(verdict).toMatchObject({ status: 'failed', error: { code: 'MEDIA_ERROR', message: expect.stringMatching(/1 tracks were live but nothing was captured \(capture could not start/) } });
  });

  it('incomplete: a live track with nothing captured while others were (the missing host microphone)', () => {
    const verdict = recordingVerdict(facts({ tracks: [track({ captured: [] }), track({ trackId: 'v', source: 'camera', kind: 'video' })] }));
    expect(verdict.status).toBe('incomplete');
    expect(verdict.notes).toEqual(["Ann's microphone was live for 8.0 s but nothing of it was captured"]);
    expect(verdict.error).toEqual({ code: 'MEDIA_ERROR', message: "recording incomplete: Ann's microphone was live for 8.0 s but nothing of it was captured" });
  });

  it('incomplete: a gap longer than the tolerance while live; shorter ones are noise', () => {
    const gap = recordingVerdict(facts({ tracks: [track({ captured: [span(0, 3), span(4.2, 8)] })] }));
    expect(gap.status).toBe('incomplete');
    expect(gap.notes[0]).toBe("Ann's microphone: 1.2 s of 8.0 s live were not captured (left as silence)");
    const video = trackNotes(track({ kind: 'video', source: 'camera', captured: [span(1, 8)] }));
    expect(video).toEqual(["Ann's camera: 1.0 s of 8.0 s live were not captured (left as black)"]);
    expect(recordingVerdict(facts({ tracks: [track({ captured: [span(0.3, 8)] })] })).status).toBe('ready');
  });

  it('a camera that appears while recording is held to the same tolerance as any track (its live span starts at its first key frame: live-spans.ts)', () => {
    const camera = track({ trackId: 'guest-camera-video', displayName: 'Gail', source: 'camera', kind: 'video', live: [span(1.5, 8)], captured: [span(2.4, 8)] });
    expect(recordingVerdict(facts({ tracks: [track(), camera] })).notes).toEqual(["Gail's camera: 0.9 s of 6.5 s live were not captured (left as black)"]);
  });

  it('incomplete: capture trouble is reported even when the gap was short', () => {
    const verdict = recordingVerdict(facts({ tracks: [track({ captured: [span(0, 4), span(4.4, 8)], troubles: ['capture interrupted (ffmpeg exited with signal SIGKILL) and restarted in a new file'] })] }));
    expect(verdict.status).toBe('incomplete');
    expect(verdict.notes).toEqual(["Ann's microphone: capture interrupted (ffmpeg exited with signal SIGKILL) and restarted in a new file"]);
  });

  it('incomplete: the integrity check found a track file or the composite off', () => {
    const track = recordingVerdict(facts({ integrity: [{ file: 'host-mic-audio-000.webm', severity: 'broken', message: 'holds vp8, expected opus' }] }));
    expect(track).toMatchObject({ status: 'incomplete', notes: ['host-mic-audio-000.webm: holds vp8, expected opus'] });
    const composite = recordingVerdict(facts({ integrity: [{ file: 'composite.mp4', severity: 'off', message: 'lasts 6.90 s, the recording window 8.00 s' }] }));
    expect(composite).toMatchObject({ status: 'incomplete', notes: ['composite: lasts 6.90 s, the recording window 8.00 s'] });
  });

  it('failed: the composite is missing a stream or could not be built', () => {
    const broken = recordingVerdict(facts({ integrity: [{ file: 'composite.mp4', severity: 'broken', message: 'expected 1 audio stream, found 0' }] }));
    expect(broken).toMatchObject({ status: 'failed', error: { code: 'MEDIA_ERROR', message: 'composite failed its check: expected 1 audio stream, found 0' } });
    const crashed = recordingVerdict(facts({ compositeError: 'ffmpeg exited 1', compositeFile: null }));
    expect(crashed).toMatchObject({ status: 'failed', error: { code: 'MEDIA_ERROR', message: 'composite failed: ffmpeg exited 1' } });
  });

  it('failed: the disk filled up (track files kept), with the notes of what else is missing', () => {
    const verdict = recordingVerdict(facts({ diskFull: 'disk almost full', compositeFile: null, tracks: [track({ captured: [span(0, 3)] })] }));
    expect(verdict).toMatchObject({ status: 'failed', error: { code: 'DISK_FULL', message: 'disk almost full' } });
    expect(verdict.notes).toEqual(['disk almost full', "Ann's microphone: 5.0 s of 8.0 s live were not captured (left as silence)"]);
  });

  it('incomplete: capture ended before the host stopped it (node restart, maximum length)', () => {
    const verdict = recordingVerdict(facts({ endedEarly: 'the media node restarted during the recording: it ends at the restart' }));
    expect(verdict).toMatchObject({ status: 'incomplete', notes: ['the media node restarted during the recording: it ends at the restart'] });
  });

  it('failed after upload: files that did not reach the store override any verdict', () => {
    expect(afterUpload({ status: 'ready', notes: [] }, null)).toEqual({ status: 'ready', notes: [] });
    expect(afterUpload({ status: 'ready', notes: [] }, 'upload failed: 503')).toEqual({ status: 'failed', notes: ['upload failed: 503'], error: { code: 'INTERNAL', message: 'upload failed: 503' } });
    const incomplete = afterUpload({ status: 'incomplete', notes: ['gap'], error: { code: 'MEDIA_ERROR', message: 'recording incomplete: gap' } }, 'upload failed: 503');
    expect(incomplete).toMatchObject({ status: 'failed', notes: ['upload failed: 503', 'gap'], error: { code: 'INTERNAL' } });
  });
});

describe('recordingStatus on the wire', () => {
  const base = { recordingId: '0b9a3c1e-8d2f-4f6a-9c1b-2e7d5a4f0009', meetingId: 'RecTestMeeting00000001' };
  it("'incomplete' travels as 'failed' + incomplete + notes (an edge that does not know it never shows a false 'ready')", () => {
    const event = recordingStatusEvent({ ...base, status: 'incomplete', durationMs: 8000.4, files: [], error: { code: 'MEDIA_ERROR', message: 'recording incomplete: gap' }, notes: ['gap'] });
    expect(event).toEqual({ event: 'recordingStatus', ...base, status: 'failed', durationMs: 8000, files: [], error: { code: 'MEDIA_ERROR', message: 'recording incomplete: gap' }, incomplete: true, notes: ['gap'] });
    expect(nodeEventSchema.parse(event)).toEqual(event);
  });
  it('ready and failed keep their meaning; no notes field when there are none', () => {
    expect(recordingStatusEvent({ ...base, status: 'ready', files: [] })).toEqual({ event: 'recordingStatus', ...base, status: 'ready', files: [] });
    const failed = recordingStatusEvent({ ...base, status: 'failed', error: { code: 'MEDIA_ERROR', message: 'no media' }, notes: ['no media'] });
    expect(failed).not.toHaveProperty('incomplete');
    expect(nodeEventSchema.parse(failed)).toEqual(failed);
  });
});

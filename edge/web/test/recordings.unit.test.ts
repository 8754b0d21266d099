import { describe, expect, it } from 'vitest';
import { describeRecording } from '../src/views/recordings.js';
import type { Recording } from '../src/wire.js';

/** What the home list's Recordings shows of each recording (issue 12 points 2 and 7). */
const id = '6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
const file = (name: string, kind: 'composite' | 'track') => ({ key: `recordings/${id}/${name}`, kind, contentType: kind === 'composite' ? 'video/mp4' : 'audio/webm', bytes: 10, sha256: 'a'.repeat(64) });
const recording = (fields: Partial<Recording>): Recording => ({
  id,
  meetingId: '6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f1',
  status: 'ready',
  startedAt: '2026-12-02T08:00:00.000Z',
  endedAt: '2026-12-02T08:01:05.000Z',
  durationMs: 65_000,
  bytes: 30,
  files: [file('composite.mp4', 'composite'), file('ann-0000001-mic-audio-000.webm', 'track'), file('ann-0000001-camera-video-000.webm', 'track')],
  error: null,
  incomplete: false,
  notes: [],
  ...fields,
});

describe('a recording in the list', () => {
  it('whole: plays, its length shown, every track downloadable, no notes', () => {
    const summary = describeRecording(recording({}));
    expect(summary).toMatchObject({ state: 'ready', playable: true, action: 'Play', notes: [] });
    expect(summary.label).toMatch(/· 1:05$/);
    expect(summary.tracks).toEqual([
      { name: 'ann-0000001-mic-audio-000.webm', key: `recordings/${id}/ann-0000001-mic-audio-000.webm` },
      { name: 'ann-0000001-camera-video-000.webm', key: `recordings/${id}/ann-0000001-camera-video-000.webm` },
    ]);
  });

  it('not whole: says so with the notes, and still plays and downloads what it kept', () => {
    const notes = ["Ann's microphone: missing from 0:02 to 0:05 (silence there)"];
    const summary = describeRecording(recording({ status: 'failed', incomplete: true, notes, error: 'the recording is not whole' }));
    expect(summary).toMatchObject({ state: 'incomplete', playable: true, action: 'Play', notes });
    expect(summary.label).toMatch(/incomplete$/);
    expect(summary.tracks).toHaveLength(2);
  });

  it('failed: no player, the reason shown (its error when the node gave no notes)', () => {
    const summary = describeRecording(recording({ status: 'failed', files: [], error: 'no media: 2 tracks were live but nothing was captured' }));
    expect(summary).toMatchObject({ state: 'failed', playable: false, action: 'Failed', notes: ['no media: 2 tracks were live but nothing was captured'], tracks: [] });
  });

  it('still being processed: nothing to play yet', () => {
    expect(describeRecording(recording({ status: 'uploading', files: [] }))).toMatchObject({ state: 'processing', playable: false, action: 'Processing…' });
  });
});

import { describe, expect, it } from 'vitest';
import { recordingNotice } from '../src/meeting/recording-notice.js';
import type { RecordingState } from '../src/wire.js';

/** What the in-call page tells the host about the recording beyond the red dot (issue 12 point 2). */
const id = '6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
const state = (fields: Partial<RecordingState>): RecordingState => ({ active: false, recordingId: id, startedAt: 1, status: 'ready', ...fields });

describe('the recording notice in the call', () => {
  it('incomplete or failed: the host sees which, with the notes', () => {
    const notes = ["Ann's microphone: missing from 0:02 to 0:05 (silence there)"];
    expect(recordingNotice(state({ status: 'failed', incomplete: true, notes }), true)).toEqual({ title: 'The recording is incomplete', notes });
    expect(recordingNotice(state({ status: 'failed', notes: ['no media'] }), true)).toEqual({ title: 'The recording failed', notes: ['no media'] });
  });

  it('in parts after a failover, while it goes on', () => {
    const segments = [
      { recordingId: id, startedAt: 1, endedAt: 2, nodeLost: true },
      { recordingId: '6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f1', startedAt: 3, endedAt: null, nodeLost: false },
    ];
    const notes = ['Part 1 of 2 (6f1e2d3c): from 0:00 to 0:42, when its media node was lost.'];
    expect(recordingNotice(state({ active: true, status: 'recording', segments, notes }), true)).toEqual({ title: 'The recording goes on in 2 parts', notes });
  });

  it('nothing for a whole recording, none yet, or someone who cannot record', () => {
    expect(recordingNotice(state({}), true)).toBeNull();
    expect(recordingNotice(state({ active: true, status: 'recording' }), true)).toBeNull();
    expect(recordingNotice(undefined, true)).toBeNull();
    expect(recordingNotice(state({ status: 'failed', incomplete: true, notes: ['x'] }), false)).toBeNull();
  });
});

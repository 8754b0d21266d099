import type { RecordingState } from '../wire.js';

export interface RecordingNotice {
  title: string;
  notes: string[];
}

/**
 * What the host is told about the meeting's recording beyond the red dot: that it failed or is
 * incomplete, with the node's notes (what is missing, and why), or that it goes on in parts after
 * its media node was lost. Nothing for a whole recording, and nothing for people who cannot record.
 */
export function recordingNotice(recording: RecordingState | undefined, canRecord: boolean): RecordingNotice | null {
  if (!recording || !canRecord) return null;
  const notes = recording.notes ?? [];
  if (recording.status === 'failed') return { title: recording.incomplete ? 'The recording is incomplete' : 'The recording failed', notes };
  if (notes.length === 0) return null;
  const parts = recording.segments?.length ?? 0;
  return { title: parts > 1 ? `The recording goes on in ${parts} parts` : 'About the recording', notes };
}

import { ApiError } from '../lib/api.js';
import { session } from '../lib/auth-store.js';
import { h, replaceChildren } from '../lib/dom.js';
import { errorBodySchema, recordingDownloadResponseSchema, recordingListResponseSchema, type Recording } from '../wire.js';

/**
 * A meeting's recordings with an in-page player (owner: recording engineer; the web app decides
 * where to mount it, e.g. under a past meeting on the home view): `recordingsPanel(linkId)`.
 * Lists GET /api/meetings/:linkId/recordings; "Play" asks GET /api/recordings/:id/download for a
 * signed, expiring link and plays it in a <video> (the link serves Range requests, so seeking works);
 * each participant's track downloads the same way. A recording that is not whole says so, with
 * the notes on what is missing, and still plays what it kept.
 */
async function getJson<T>(path: string, parse: (json: unknown) => T): Promise<T> {
  const token = session()?.token;
  const response = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const json: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const body = errorBodySchema.safeParse(json);
    throw body.success ? new ApiError(body.data.error.code, body.data.error.message, response.status) : new ApiError('INTERNAL', `The server answered ${response.status}.`, response.status);
  }
  return parse(json);
}

const minutes = (ms: number | null) => (ms === null ? '' : `${Math.floor(ms / 60000)}:${String(Math.round((ms % 60000) / 1000)).padStart(2, '0')}`);

/** What a row shows of a recording (pure: the unit tests read it). */
export interface RecordingSummary {
  label: string;
  /** The composite plays (a whole recording, or one that is not whole but kept its files). */
  playable: boolean;
  /** Button text, and the state said next to it. */
  action: 'Play' | 'Failed' | 'Processing…';
  state: 'ready' | 'incomplete' | 'failed' | 'processing';
  /** Shown to whoever sees the list: what is missing or went wrong. */
  notes: string[];
  /** Per-participant track files to download: file name and the key to ask a link for. */
  tracks: Array<{ name: string; key: string }>;
}

export function describeRecording(recording: Recording): RecordingSummary {
  const state = recording.status === 'ready' ? 'ready' : recording.status === 'failed' ? (recording.incomplete ? 'incomplete' : 'failed') : 'processing';
  const hasComposite = recording.files.some((file) => file.kind === 'composite');
  const playable = (state === 'ready' || state === 'incomplete') && hasComposite;
  const notes = recording.notes.length > 0 ? recording.notes : state === 'failed' && recording.error ? [recording.error] : [];
  const tracks =
    state === 'ready' || state === 'incomplete'
      ? recording.files.filter((file) => file.kind === 'track').map((file) => ({ name: file.key.slice(file.key.lastIndexOf('/') + 1), key: file.key }))
      : [];
  const label = `${new Date(recording.startedAt).toLocaleString()} · ${minutes(recording.durationMs)}${state === 'incomplete' ? ' · incomplete' : ''}`;
  return { label, playable, action: playable ? 'Play' : state === 'processing' ? 'Processing…' : 'Failed', state, notes, tracks };
}

/** A signed, expiring link to one file of a recording (default: its composite). */
async function fileLink(recordingId: string, key?: string): Promise<string> {
  const query = key ? `?file=${encodeURIComponent(key)}` : '';
  const { url } = await getJson(`/api/recordings/${recordingId}/download${query}`, (json) => recordingDownloadResponseSchema.parse(json));
  return url;
}

function recordingRow(recording: Recording, player: HTMLVideoElement, status: HTMLElement): HTMLElement {
  const summary = describeRecording(recording);
  const failed = (error: unknown) => {
    status.textContent = error instanceof ApiError ? error.message : 'Could not open the recording.';
  };
  const play = h(
    'button',
    {
      class: 'btn',
      disabled: !summary.playable,
      onclick: async () => {
        try {
          player.src = await fileLink(recording.id);
          player.hidden = false;
          await player.play().catch(() => undefined);
        } catch (error) {
          failed(error);
        }
      },
    },
    summary.action,
  );
  // Each participant's track on its own: the link is served as an attachment, so it downloads.
  const downloads = summary.tracks.map((track) =>
    h(
      'button',
      {
        class: 'btn',
        'aria-label': `Download ${track.name}`,
        onclick: async () => {
          try {
            window.location.assign(await fileLink(recording.id, track.key));
          } catch (error) {
            failed(error);
          }
        },
      },
      track.name,
    ),
  );
  const notes = summary.notes.length > 0 ? h('ul', { class: 'recording-notes' }, ...summary.notes.map((note) => h('li', {}, note))) : null;
  return h(
    'li',
    { class: `recording-row recording-${summary.state}`, 'data-recording-id': recording.id, 'data-state': summary.state },
    h('span', {}, summary.label),
    ' ',
    play,
    notes,
    downloads.length > 0 ? h('div', { class: 'recording-tracks' }, 'Tracks: ', ...downloads) : null,
  );
}

export function recordingsPanel(linkId: string): HTMLElement {
  const player = h('video', { controls: true, hidden: true, preload: 'metadata', class: 'recording-player' });
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading recordings…');
  const list = h('ul', { class: 'recording-list' });
  void getJson(`/api/meetings/${encodeURIComponent(linkId)}/recordings`, (json) => recordingListResponseSchema.parse(json))
    .then(({ recordings }) => {
      status.textContent = recordings.length === 0 ? 'No recordings yet.' : '';
      replaceChildren(list, ...recordings.map((recording) => recordingRow(recording, player, status)));
    })
    .catch((error: unknown) => {
      status.textContent = error instanceof ApiError ? error.message : 'Could not load recordings.';
    });
  return h('section', { class: 'recordings' }, h('h2', {}, 'Recordings'), status, list, player);
}

import { ApiError } from '../lib/api.js';
import { session } from '../lib/auth-store.js';
import { h, replaceChildren } from '../lib/dom.js';
import { errorBodySchema, recordingDownloadResponseSchema, recordingListResponseSchema, type Recording } from '../wire.js';

/**
 * A meeting's recordings with an in-page player (owner: recording engineer; the web app decides
 * where to mount it, e.g. under a past meeting on the home view): `recordingsPanel(linkId)`.
 * Lists GET /api/meetings/:linkId/recordings; "Play" asks GET /api/recordings/:id/download for a
 * signed, expiring link and plays it in a <video> (the link serves Range requests, so seeking works).
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

function recordingRow(recording: Recording, player: HTMLVideoElement, status: HTMLElement): HTMLElement {
  const label = `${new Date(recording.startedAt).toLocaleString()} · ${minutes(recording.durationMs)}`;
  const play = h(
    'button',
    {
      class: 'btn',
      disabled: recording.status !== 'ready',
      onclick: async () => {
        try {
          const { url } = await getJson(`/api/recordings/${recording.id}/download`, (json) => recordingDownloadResponseSchema.parse(json));
          player.src = url;
          player.hidden = false;
          await player.play().catch(() => undefined);
        } catch (error) {
          status.textContent = error instanceof ApiError ? error.message : 'Could not open the recording.';
        }
      },
    },
    recording.status === 'ready' ? 'Play' : recording.status === 'failed' ? 'Failed' : 'Processing…',
  );
  return h('li', { class: 'recording-row', 'data-recording-id': recording.id }, h('span', {}, label), ' ', play, recording.error ? h('small', { class: 'muted' }, ` ${recording.error}`) : null);
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

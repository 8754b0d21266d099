import { Call, type Ending } from '../call/call.js';
import { LocalMedia } from '../call/local-media.js';
import { installDebugHook } from '../debug-hook.js';
import { api, ApiError } from '../lib/api.js';
import { currentUser } from '../lib/auth-store.js';
import { describeError } from '../lib/errors.js';
import { button, h, replaceChildren } from '../lib/dom.js';
import { navigate } from '../lib/router.js';
import type { JoinResponse } from '../wire.js';
import { inCallView } from './in-call.js';
import { prejoinView } from './prejoin.js';

/**
 * Endings a new join gets past, so the end screen offers Rejoin: left, a session the room let go
 * (expired, or TOKEN_INVALID: a waiting room's socket gone longer than the room waits), a failure.
 */
const REJOINABLE = new Set<Ending['code']>(['LEFT', 'TOKEN_EXPIRED', 'TOKEN_INVALID', 'INTERNAL']);

/** /m/<linkId>: pre-join → (waiting room) → in the meeting → end screen. */
export function meetingPage(linkId: string): HTMLElement {
  const root = h('div', { class: 'meeting-page' }, h('main', { class: 'page page-center' }, h('p', { class: 'muted' }, 'Loading meeting…')));
  const local = new LocalMedia();
  let call: Call | null = null;

  const showEnd = (message: string, canRejoin: boolean) => {
    local.stopAll();
    replaceChildren(
      root,
      h(
        'main',
        { class: 'page page-center' },
        h(
          'section',
          { class: 'card end-card', role: 'alert', id: 'end-message' },
          h('h1', {}, message),
          h(
            'div',
            { class: 'row' },
            canRejoin ? button('Rejoin', () => location.reload(), { class: 'btn btn-primary' }) : null,
            currentUser() ? button('Home', () => navigate('/')) : null,
          ),
        ),
      ),
    );
  };

  const enter = (join: JoinResponse, joinClickedAt: number) => {
    call = new Call(linkId, join, local, joinClickedAt);
    installDebugHook(call);
    const current = call;
    const render = () => {
      if (current.phase === 'ended') {
        const ending = current.ending;
        showEnd(ending?.message ?? 'The meeting has ended.', ending !== null && REJOINABLE.has(ending.code));
      } else if (current.phase === 'waiting') {
        replaceChildren(root, waitingView(current));
      } else if (!root.querySelector('.call')) {
        replaceChildren(root, inCallView(current));
      }
    };
    current.on('phase', render);
    render();
  };

  api
    .meetingInfo(linkId)
    .then(({ meeting, hosting }) => {
      if (meeting.status === 'ended') {
        showEnd(describeError('MEETING_ENDED'), false);
        return;
      }
      // A webinar's audience joins to watch: no camera or microphone is asked for.
      const watching = meeting.mode === 'webinar' && !hosting;
      replaceChildren(root, prejoinView(meeting, local, enter, (message) => showEnd(message, false), { watching }));
    })
    .catch((error: unknown) => showEnd(error instanceof ApiError ? describeError(error.code, error.message) : 'Could not load the meeting.', false));

  // Leaving the page leaves the meeting (closes media and the room socket cleanly).
  window.addEventListener('pagehide', () => call?.leave(), { once: true });
  return root;
}

function waitingView(call: Call): HTMLElement {
  const position = h('p', { class: 'muted' });
  const update = () => {
    position.textContent = call.waitingPosition === null ? '' : `You are number ${call.waitingPosition + 1} in line.`;
  };
  call.on('phase', update);
  update();
  return h(
    'main',
    { class: 'page page-center' },
    h(
      'section',
      { class: 'card', role: 'status', id: 'waiting-room' },
      h('h1', {}, 'Waiting for the host to let you in'),
      position,
      button('Leave', () => call.leave(), { class: 'btn' }),
    ),
  );
}

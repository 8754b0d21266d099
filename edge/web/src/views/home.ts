import { api, ApiError } from '../lib/api.js';
import { clearSession, currentUser } from '../lib/auth-store.js';
import { describeError } from '../lib/errors.js';
import { button, field, h, replaceChildren, toast } from '../lib/dom.js';
import { navigate } from '../lib/router.js';
import { recordingsPanel } from './recordings.js';
import { passcodeSchema, type Meeting } from '../wire.js';

/** The audience a webinar started from the home page takes (the edge allows up to 10,000). */
const WEBINAR_DEFAULT_AUDIENCE = 1_000;

/** Home: start a meeting now, schedule one, and the list of my meetings. */
export function homeView(): HTMLElement {
  const user = currentUser();
  if (!user) {
    queueMicrotask(() => navigate('/signin', true));
    return h('main', { class: 'page' });
  }
  const list = h('ul', { class: 'meeting-list', 'aria-label': 'My meetings' });
  const listStatus = h('p', { class: 'muted' }, 'Loading your meetings…');

  const startNow = button(
    'New meeting',
    () => {
      startNow.disabled = true;
      api
        .createMeeting({ title: `${user.displayName}'s meeting` })
        .then(({ meeting }) => navigate(`/m/${meeting.linkId}`))
        .catch((error: unknown) => {
          startNow.disabled = false;
          toast(error instanceof ApiError ? describeError(error.code, error.message) : 'Could not create the meeting.', 'error');
        });
    },
    { class: 'btn btn-primary btn-large', id: 'new-meeting' },
  );

  // A webinar: the host presents to an audience that watches until invited to speak.
  const startWebinar = button(
    'New webinar',
    () => {
      startWebinar.disabled = true;
      api
        .createMeeting({ title: `${user.displayName}'s webinar`, mode: 'webinar', maxParticipants: WEBINAR_DEFAULT_AUDIENCE })
        .then(({ meeting }) => navigate(`/m/${meeting.linkId}`))
        .catch((error: unknown) => {
          startWebinar.disabled = false;
          toast(error instanceof ApiError ? describeError(error.code, error.message) : 'Could not create the webinar.', 'error');
        });
    },
    { class: 'btn btn-large', id: 'new-webinar' },
  );

  const refresh = () =>
    api
      .listMeetings('all')
      .then(({ meetings }) => {
        listStatus.textContent = meetings.length === 0 ? 'No meetings yet.' : '';
        replaceChildren(list, ...meetings.map(meetingItem));
      })
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') {
          clearSession();
          navigate('/signin', true);
          return;
        }
        listStatus.textContent = 'Could not load your meetings.';
      });
  void refresh();

  const signOut = button('Sign out', () => {
    void api.logout().catch(() => undefined);
    clearSession();
    navigate('/signin');
  });

  return h(
    'main',
    { class: 'page' },
    h('header', { class: 'topbar' }, h('span', { class: 'brand' }, 'edgemeet'), h('span', { class: 'muted' }, `Signed in as ${user.displayName}`), signOut),
    h('section', { class: 'home-actions', 'aria-label': 'Start or schedule' }, h('div', { class: 'start-buttons' }, startNow, startWebinar), scheduleForm(refresh)),
    h('section', { class: 'card' }, h('h2', {}, 'My meetings'), listStatus, list),
  );
}

function meetingItem(meeting: Meeting): HTMLElement {
  const when = meeting.scheduledStart ? new Date(meeting.scheduledStart).toLocaleString() : 'Any time';
  const link = new URL(`/m/${meeting.linkId}`, location.origin).toString();
  const copy = button('Copy link', () => {
    void navigator.clipboard?.writeText(link).then(() => toast('Link copied'));
  }, { label: `Copy link of ${meeting.title}` });
  // Recordings open on demand, so the list costs one request per meeting only when asked for.
  const recordings = h('div', { class: 'meeting-recordings' });
  const showRecordings = button('Recordings', () => {
    replaceChildren(recordings, recordingsPanel(meeting.linkId));
    showRecordings.disabled = true;
  }, { label: `Recordings of ${meeting.title}` });
  return h(
    'li',
    { class: 'meeting-item' },
    h('div', {}, h('a', { href: `/m/${meeting.linkId}`, 'data-link': true, class: 'meeting-title' }, meeting.title), h('div', { class: 'muted' }, `${when} · ${meeting.mode === 'webinar' ? 'webinar · ' : ''}${meeting.status}${meeting.passcode ? ` · passcode ${meeting.passcode}` : ''}`)),
    copy,
    showRecordings,
    recordings,
  );
}

function scheduleForm(onCreated: () => Promise<void>): HTMLElement {
  const title = h('input', { type: 'text', name: 'title', required: true, maxlength: 200, value: 'Team meeting' });
  const start = h('input', { type: 'datetime-local', name: 'start', required: true });
  const passcode = h('input', { type: 'text', name: 'passcode', maxlength: 10, placeholder: 'optional', autocomplete: 'off' });
  const waitingRoom = h('input', { type: 'checkbox', name: 'waitingRoom' });
  const allowGuests = h('input', { type: 'checkbox', name: 'allowGuests', checked: true });
  const webinar = h('input', { type: 'checkbox', name: 'webinar' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'card schedule', 'aria-labelledby': 'schedule-title' },
    h('h2', { id: 'schedule-title' }, 'Schedule'),
    field('Title', title),
    field('Starts', start),
    field('Passcode', passcode, '6–10 letters or digits'),
    h('label', { class: 'check' }, waitingRoom, ' Waiting room'),
    h('label', { class: 'check' }, allowGuests, ' Allow guests'),
    h('label', { class: 'check' }, webinar, ' Webinar (the audience watches until invited to speak)'),
    error,
    h('button', { type: 'submit', class: 'btn' }, 'Schedule'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    error.textContent = '';
    const code = passcode.value.trim();
    if (code && !passcodeSchema.safeParse(code).success) {
      error.textContent = 'The passcode is 4–10 letters or digits.';
      return;
    }
    const when = start.value ? new Date(start.value) : null;
    if (!when || Number.isNaN(when.getTime())) {
      error.textContent = 'Pick a start time.';
      return;
    }
    api
      .createMeeting({
        title: title.value.trim() || 'Meeting',
        scheduledStart: when.toISOString(),
        passcode: code || undefined,
        waitingRoom: waitingRoom.checked,
        allowGuests: allowGuests.checked,
        ...(webinar.checked ? { mode: 'webinar' as const, maxParticipants: WEBINAR_DEFAULT_AUDIENCE } : {}),
      })
      .then(() => {
        toast('Meeting scheduled');
        form.reset();
        return onCreated();
      })
      .catch((failure: unknown) => {
        error.textContent = failure instanceof ApiError ? describeError(failure.code, failure.message) : 'Could not schedule the meeting.';
      });
  });
  return form;
}

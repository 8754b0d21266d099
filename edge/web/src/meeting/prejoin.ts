import { warmUpDevice } from '../call/device.js';
import { LocalMedia } from '../call/local-media.js';
import { api, ApiError } from '../lib/api.js';
import { currentUser } from '../lib/auth-store.js';
import { describeError } from '../lib/errors.js';
import { guestKey } from '../lib/guest-key.js';
import { field, h, replaceChildren } from '../lib/dom.js';
import { displayNameSchema, type ErrorCode, type JoinResponse, type MeetingPublic } from '../wire.js';

const GUEST_NAME_KEY = 'edgemeet.guestName';
/** Join answers after which trying again from this page cannot help. */
const FINAL_JOIN_ERRORS = new Set<ErrorCode>(['MEETING_ENDED', 'REMOVED_BY_HOST', 'MEETING_NOT_FOUND', 'ADMISSION_DENIED']);
/** Automatic Join retries when no media node has room, and the wait between them. */
const CAPACITY_RETRIES = 5;
const CAPACITY_RETRY_MS = 2_000;

/**
 * Pre-join: camera preview, device pickers, mic/camera toggles, name for guests, passcode when
 * needed. Resolves with the join answer once the edge admits the person (or puts them in the
 * waiting room); join errors stay on this screen.
 */
export function prejoinView(
  meeting: MeetingPublic,
  local: LocalMedia,
  onJoined: (join: JoinResponse, joinClickedAt: number) => void,
  onFatal: (message: string) => void,
  options: { watching: boolean } = { watching: false },
): HTMLElement {
  const user = currentUser();
  const preview = h('video', { class: 'preview', autoplay: true, playsinline: true, muted: true, 'aria-label': 'Your camera preview' });
  preview.muted = true;
  const previewOff = h('div', { class: 'preview-off' }, 'Camera is off');
  const mediaProblems = h('div', { class: 'media-problems', role: 'alert' });
  const cameraSelect = h('select', { name: 'camera' });
  const micSelect = h('select', { name: 'mic' });
  const micToggle = h('button', { type: 'button', class: 'btn', id: 'prejoin-mic' });
  const cameraToggle = h('button', { type: 'button', class: 'btn', id: 'prejoin-camera' });
  const name = h('input', { type: 'text', name: 'displayName', maxlength: 20, autocomplete: 'name', value: localStorage.getItem(GUEST_NAME_KEY) ?? '' });
  const passcode = h('input', { type: 'text', name: 'passcode', maxlength: 10, autocomplete: 'off', value: new URLSearchParams(location.search).get('pwd') ?? '' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const joinButton = h('button', { type: 'submit', class: 'btn btn-primary btn-large', id: 'join' }, 'Join');

  const renderMedia = () => {
    const cameraOn = local.isOn('camera');
    const micOn = local.isOn('mic');
    preview.srcObject = cameraOn && local.camera ? new MediaStream([local.camera]) : null;
    preview.hidden = !cameraOn;
    previewOff.hidden = cameraOn;
    micToggle.textContent = micOn ? 'Mic on' : 'Mic off';
    micToggle.setAttribute('aria-pressed', String(micOn));
    micToggle.setAttribute('aria-label', micOn ? 'Microphone on: click to mute' : 'Microphone off: click to unmute');
    cameraToggle.textContent = cameraOn ? 'Camera on' : 'Camera off';
    cameraToggle.setAttribute('aria-pressed', String(cameraOn));
    cameraToggle.setAttribute('aria-label', cameraOn ? 'Camera on: click to turn off' : 'Camera off: click to turn on');
    replaceChildren(mediaProblems, ...[local.cameraError, local.micError].filter((text): text is string => text !== null).map((text) => h('p', {}, text)));
  };
  const fillDevices = async () => {
    const { cameras, mics } = await LocalMedia.devices();
    const options = (devices: MediaDeviceInfo[], selected: string | null, label: string) =>
      devices.map((device, index) => h('option', { value: device.deviceId, selected: device.deviceId === selected }, device.label || `${label} ${index + 1}`));
    replaceChildren(cameraSelect, ...options(cameras, local.cameraDeviceId, 'Camera'));
    replaceChildren(micSelect, ...options(mics, local.micDeviceId, 'Microphone'));
    cameraSelect.disabled = cameras.length === 0;
    micSelect.disabled = mics.length === 0;
  };

  // A click flips what the button shows (a device still opening shows as off).
  const toggle = async (kind: 'mic' | 'camera') => {
    const turnOn = !local.isOn(kind);
    local.choose(kind, turnOn);
    if (turnOn && !local.track(kind)) await (kind === 'mic' ? local.openMic() : local.openCamera());
    renderMedia();
  };
  micToggle.addEventListener('click', () => void toggle('mic'));
  cameraToggle.addEventListener('click', () => void toggle('camera'));
  cameraSelect.addEventListener('change', async () => {
    await local.openCamera(cameraSelect.value);
    renderMedia();
  });
  micSelect.addEventListener('change', async () => {
    await local.openMic(micSelect.value);
    renderMedia();
  });

  // Open devices right away: the preview shows, and permission problems surface before joining.
  // A webinar attendee sends nothing: no device is opened (or asked permission for).
  if (!options.watching) {
    void Promise.all([local.openCamera(), local.openMic()]).then(() => {
      renderMedia();
      void warmUpDevice();
      return fillDevices();
    });
  }
  renderMedia();

  const form = h(
    'form',
    { class: 'prejoin-form', 'aria-labelledby': 'prejoin-title' },
    h('h1', { id: 'prejoin-title' }, meeting.title),
    h('p', { class: 'muted' }, `Hosted by ${meeting.hostName}`),
    user ? h('p', {}, `Joining as ${user.displayName}`) : meeting.allowGuests ? field('Your name', name) : null,
    !user && !meeting.allowGuests ? h('p', { class: 'form-error' }, 'This meeting is for signed-in users. ', h('a', { href: `/signin?next=${encodeURIComponent(location.pathname)}`, 'data-link': true }, 'Sign in')) : null,
    meeting.needsPasscode ? field('Passcode', passcode) : null,
    meeting.waitingRoom ? h('p', { class: 'muted' }, 'The host will let you in from the waiting room.') : null,
    options.watching ? h('p', { class: 'muted', id: 'webinar-note' }, 'This is a webinar: you join to watch and chat. The host can invite you to speak.') : null,
    error,
    joinButton,
    user ? null : h('p', { class: 'muted' }, 'Have an account? ', h('a', { href: `/signin?next=${encodeURIComponent(location.pathname)}`, 'data-link': true }, 'Sign in')),
  );
  // No media node free (all busy, or the only one briefly written off): try again by itself a few
  // times, as a person would click Join again, before asking them to.
  let capacityRetries = 0;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (event.isTrusted) capacityRetries = 0;
    const joinClickedAt = performance.now();
    error.textContent = '';
    let displayName: string | undefined;
    if (!user) {
      const parsed = displayNameSchema.safeParse(name.value);
      if (!parsed.success) {
        error.textContent = 'Enter your name (up to 20 characters).';
        name.focus();
        return;
      }
      displayName = parsed.data;
      localStorage.setItem(GUEST_NAME_KEY, displayName);
    }
    joinButton.disabled = true;
    api
      .join(meeting.linkId, { displayName, passcode: meeting.needsPasscode ? passcode.value.trim() : undefined, ...(user ? {} : { guestKey: guestKey() }) })
      .then((join) => onJoined(join, joinClickedAt))
      .catch((failure: unknown) => {
        joinButton.disabled = false;
        if (!(failure instanceof ApiError)) {
          error.textContent = 'Could not join. Please try again.';
          return;
        }
        if (FINAL_JOIN_ERRORS.has(failure.code)) return onFatal(describeError(failure.code, failure.message));
        if (failure.code === 'NO_MEDIA_CAPACITY' && capacityRetries < CAPACITY_RETRIES) {
          capacityRetries += 1;
          joinButton.disabled = true;
          error.textContent = `${describeError(failure.code, failure.message)} Trying again…`;
          window.setTimeout(() => joinButton.isConnected && form.requestSubmit(), failure.retryAfterMs ?? CAPACITY_RETRY_MS);
          return;
        }
        // Told when to come back (passcode or knock limits): Join waits that long, counting down.
        if (failure.retryAfterMs !== undefined && failure.retryAfterMs > 0) holdJoin(failure.code, failure.message, failure.retryAfterMs);
        else error.textContent = describeError(failure.code, failure.message);
        if (failure.code === 'WRONG_PASSCODE') passcode.focus();
      });
  });

  let holdTimer: number | undefined;
  const holdJoin = (code: ErrorCode, serverMessage: string, retryAfterMs: number) => {
    const until = Date.now() + retryAfterMs;
    window.clearInterval(holdTimer);
    const tick = () => {
      const left = until - Date.now();
      if (left <= 0 || !joinButton.isConnected) {
        window.clearInterval(holdTimer);
        joinButton.disabled = false;
        error.textContent = '';
        return;
      }
      joinButton.disabled = true;
      // Only a change is written: the line is an alert, and screen readers read each write.
      const text = describeError(code, serverMessage, left);
      if (error.textContent !== text) error.textContent = text;
    };
    tick();
    holdTimer = window.setInterval(tick, 1_000);
  };

  return h(
    'main',
    { class: 'page prejoin' },
    h(
      'section',
      { class: 'card prejoin-media', 'aria-label': 'Camera and microphone', hidden: options.watching },
      h('div', { class: 'preview-box' }, preview, previewOff),
      h('div', { class: 'toggles' }, micToggle, cameraToggle),
      field('Camera', cameraSelect),
      field('Microphone', micSelect),
      mediaProblems,
    ),
    h('section', { class: 'card' }, form),
  );
}

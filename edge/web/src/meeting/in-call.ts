import type { Call } from '../call/call.js';
import { button, h, toast } from '../lib/dom.js';
import { chatPanel } from './chat-panel.js';
import { VideoGrid } from './grid.js';
import { peoplePanel } from './people-panel.js';
import { recordingNotice } from './recording-notice.js';

const QUALITY_TEXT = { good: 'Good connection', fair: 'Fair connection', poor: 'Poor connection', lost: 'Connection lost', unknown: 'Connecting…' } as const;

/** The meeting itself: header, video grid, side panels and the control bar. */
export function inCallView(call: Call): HTMLElement {
  const grid = new VideoGrid(call);
  const chat = chatPanel(call);
  const people = peoplePanel(call);
  const side = h('aside', { class: 'side', 'aria-label': 'Side panel' }, people, chat);

  const title = h('h1', { class: 'meeting-title' });
  const recordingText = h('span', {}, 'Recording');
  const recording = h('span', { class: 'rec-indicator', role: 'status', hidden: true }, h('span', { class: 'rec-dot', 'aria-hidden': 'true' }), recordingText);
  const locked = h('span', { class: 'badge', hidden: true }, 'Locked');
  const quality = h('span', { class: 'quality', role: 'status', id: 'quality' });
  const banner = h('div', { class: 'banner', role: 'alert', hidden: true });
  // The host hears when a recording is not whole (its notes); dismissed until it says something new.
  const recordingNotes = h('div', { class: 'banner rec-notes', role: 'status', id: 'recording-notes', hidden: true });
  let dismissedNotice = '';

  // Turning a device on can fail (permission refused, device busy): say so.
  const mic = button('', () => void call.toggleMic().then(() => !call.local.mic && call.local.micError && toast(call.local.micError, 'error')), { class: 'ctl', id: 'toggle-mic' });
  const camera = button('', () => void call.toggleCamera().then(() => !call.local.camera && call.local.cameraError && toast(call.local.cameraError, 'error')), {
    class: 'ctl',
    id: 'toggle-camera',
  });
  const share = button('', () => void call.toggleScreen().then((problem) => problem && toast(problem, 'error')), { class: 'ctl', id: 'toggle-screen' });
  const hand = button('', () => call.setHand(!(call.self?.handRaised ?? false)), { class: 'ctl', id: 'toggle-hand' });
  const saver = button('Low bandwidth', () => void call.setLowBandwidth(!call.lowBandwidth).catch(() => toast('Could not change the bandwidth setting; it applies when media reconnects.', 'error')), {
    class: 'ctl',
    id: 'toggle-low-bandwidth',
    label: 'Low bandwidth mode',
  });
  const record = button('', () => call.send({ type: call.meeting?.recording.active ? 'recording.stop' : 'recording.start' }), { class: 'ctl', id: 'toggle-record' });
  const showChat = button('Chat', () => togglePanel(chat, showChat), { class: 'ctl', id: 'toggle-chat', pressed: true, label: 'Show chat' });
  const showPeople = button('People', () => togglePanel(people, showPeople), { class: 'ctl', id: 'toggle-people', pressed: true, label: 'Show participants' });
  const leave = button('Leave', () => call.leave(), { class: 'ctl ctl-leave', id: 'leave' });
  const endAll = button(
    'End for all',
    () => {
      if (confirm('End the meeting for everyone?')) call.endForAll();
    },
    { class: 'ctl ctl-danger', id: 'end-all' },
  );

  // A webinar attendee watches: no devices to turn on until the host invites them to speak.
  const attendeeNote = h('span', { class: 'notice', id: 'attendee-note', role: 'status', hidden: true }, 'You are watching this webinar. Raise your hand to ask to speak.');
  const renderLocal = () => {
    const watching = !call.canPublish;
    mic.hidden = camera.hidden = share.hidden = watching;
    attendeeNote.hidden = !watching;
    const micOn = call.local.isOn('mic');
    mic.textContent = micOn ? 'Mute' : 'Unmute';
    mic.setAttribute('aria-label', micOn ? 'Mute microphone' : 'Unmute microphone');
    mic.setAttribute('aria-pressed', String(!micOn));
    const camOn = call.local.isOn('camera');
    camera.textContent = camOn ? 'Stop video' : 'Start video';
    camera.setAttribute('aria-label', camOn ? 'Turn camera off' : 'Turn camera on');
    camera.setAttribute('aria-pressed', String(!camOn));
    share.textContent = call.sharingScreen ? 'Stop sharing' : 'Share screen';
    share.setAttribute('aria-label', call.sharingScreen ? 'Stop sharing screen' : 'Share screen');
    share.setAttribute('aria-pressed', String(call.sharingScreen));
    saver.setAttribute('aria-pressed', String(call.lowBandwidth));
    saver.title = call.lowBandwidth ? 'On: others arrive as small video. Click for full quality.' : 'Receive small video only, to keep a weak connection smooth';
  };
  const renderMeeting = () => {
    const meeting = call.meeting;
    title.textContent = meeting?.title ?? '';
    document.title = meeting ? `${meeting.title} · edgemeet` : 'edgemeet';
    recording.hidden = !meeting?.recording.active;
    // Until the node's capture window opens, the seconds shown are not yet recorded: say so.
    const capturing = meeting?.recording.capturing !== false;
    recordingText.textContent = capturing ? 'Recording' : 'Starting recording…';
    recording.dataset.capturing = String(capturing);
    locked.hidden = !meeting?.locked;
    const isHost = call.isHost;
    record.hidden = !isHost;
    endAll.hidden = call.self?.role !== 'host';
    const active = meeting?.recording.active ?? false;
    record.textContent = active ? 'Stop recording' : 'Record';
    record.setAttribute('aria-label', active ? 'Stop recording' : 'Start recording');
    record.setAttribute('aria-pressed', String(active));
    renderRecordingNotice();
    const raised = call.self?.handRaised ?? false;
    hand.textContent = raised ? 'Lower hand' : 'Raise hand';
    hand.setAttribute('aria-label', raised ? 'Lower hand' : 'Raise hand');
    hand.setAttribute('aria-pressed', String(raised));
  };
  const renderRecordingNotice = () => {
    const notice = recordingNotice(call.meeting?.recording, call.isHost);
    const key = notice ? JSON.stringify([call.meeting?.recording.recordingId, notice]) : '';
    recordingNotes.hidden = !notice || key === dismissedNotice;
    if (!notice) return;
    const dismiss = button('Dismiss', () => ((dismissedNotice = key), (recordingNotes.hidden = true)), { class: 'btn', label: 'Dismiss the recording notes' });
    recordingNotes.replaceChildren(h('strong', {}, notice.title), h('ul', {}, ...notice.notes.map((note) => h('li', {}, note))), dismiss);
  };
  const renderStatus = () => {
    const reconnecting = call.reconnecting;
    quality.textContent = reconnecting ? 'Reconnecting…' : QUALITY_TEXT[call.quality];
    quality.dataset.quality = reconnecting ? 'poor' : call.quality;
    const rtt = call.stats.meter.rttMs;
    quality.title =
      call.quality === 'lost' ? 'No audio or video has arrived for a few seconds' : rtt === null ? '' : `Round trip ${Math.round(rtt)} ms, loss ${(call.stats.meter.lossPercent ?? 0).toFixed(1)}%`;
    banner.hidden = !reconnecting && !call.lastError;
    // What was not sent shows with the reconnect it waits for (a full queue means the connection is down).
    banner.textContent = [reconnecting ? 'Connection lost — reconnecting…' : '', call.lastError ?? ''].filter(Boolean).join(' ');
    if (call.lastError) {
      const shown = call.lastError;
      setTimeout(() => {
        if (call.lastError === shown) {
          call.lastError = null;
          renderStatus();
        }
      }, 4_000);
    }
  };
  call.on('local', renderLocal);
  call.on('meeting', renderMeeting);
  call.on('participants', renderMeeting);
  call.on('status', renderStatus);
  renderLocal();
  renderMeeting();
  renderStatus();

  return h(
    'main',
    { class: 'call' },
    h('header', { class: 'call-header' }, title, locked, recording, quality),
    banner,
    recordingNotes,
    h('div', { class: 'call-body' }, grid.element, side),
    h('nav', { class: 'controls', 'aria-label': 'Meeting controls' }, attendeeNote, mic, camera, share, hand, saver, record, showPeople, showChat, leave, endAll),
  );
}

function togglePanel(panel: HTMLElement, control: HTMLButtonElement): void {
  panel.hidden = !panel.hidden;
  control.setAttribute('aria-pressed', String(!panel.hidden));
}

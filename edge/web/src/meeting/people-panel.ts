import type { Call } from '../call/call.js';
import { button, h, replaceChildren, toast } from '../lib/dom.js';
import { HOST_HOLDS_MUTE } from '../lib/errors.js';
import type { ParticipantView } from '../wire.js';

const ROLE_LABEL: Record<ParticipantView['role'], string> = { host: 'Host', cohost: 'Co-host', participant: '', guest: 'Guest', attendee: 'Attendee' };

/** Participants and the waiting room, with host controls for hosts and co-hosts. */
export function peoplePanel(call: Call): HTMLElement {
  const waitingList = h('ul', { class: 'people-list', 'aria-label': 'Waiting room' });
  const waitingSection = h('div', { class: 'waiting-section' }, h('h3', {}, 'Waiting room'), waitingList);
  const list = h('ul', { class: 'people-list', 'aria-label': 'Participants' });
  const heading = h('h2', { id: 'people-title' }, 'People');
  const lock = h('button', { type: 'button', class: 'btn', id: 'lock-meeting' });
  lock.addEventListener('click', () => call.send({ type: 'host.lock', locked: !(call.meeting?.locked ?? false) }));
  const muteAll = button('Mute all', () => {
    for (const person of call.participants.values()) {
      if (person.participantId !== call.self?.participantId) call.send({ type: 'host.mute', participantId: person.participantId, kind: 'audio' });
    }
  });
  // The meeting's unmute policy: off, a host mute holds (the media node refuses the unmute).
  const allowUnmute = h('input', { type: 'checkbox', id: 'allow-unmute', checked: true });
  allowUnmute.addEventListener('change', () => call.send({ type: 'host.allowUnmute', allowed: allowUnmute.checked }));
  const allowUnmuteToggle = h('label', { class: 'check' }, allowUnmute, ' Let participants unmute themselves');
  const hostBar = h('div', { class: 'host-bar' }, lock, muteAll, allowUnmuteToggle);
  // For the person the host muted while unmuting is off: why their Unmute does not work.
  const heldNotice = h('p', { class: 'notice muted', role: 'status', id: 'held-mute-notice', hidden: true }, HOST_HOLDS_MUTE);

  const render = () => {
    const isHost = call.isHost;
    const locked = call.meeting?.locked ?? false;
    lock.textContent = locked ? 'Unlock meeting' : 'Lock meeting';
    lock.setAttribute('aria-pressed', String(locked));
    allowUnmute.checked = call.meeting?.participantsMayUnmute ?? true;
    hostBar.hidden = !isHost;
    heldNotice.hidden = !heldMuted(call);
    heading.textContent = `People (${call.participants.size})`;
    const people = [...call.participants.values()].sort((a, b) => Number(b.handRaised) - Number(a.handRaised) || a.joinedAt - b.joinedAt);
    replaceChildren(list, ...people.map((person) => personItem(call, person, isHost)));
    waitingSection.hidden = !isHost || call.waiting.length === 0;
    replaceChildren(
      waitingList,
      ...call.waiting.map((person) =>
        h(
          'li',
          { class: 'person' },
          h('span', { class: 'person-name' }, person.displayName),
          button('Admit', () => call.send({ type: 'host.admit', participantId: person.participantId }), { label: `Admit ${person.displayName}`, class: 'btn btn-primary' }),
          button('Deny', () => call.send({ type: 'host.deny', participantId: person.participantId }), { label: `Deny ${person.displayName}` }),
        ),
      ),
    );
  };
  for (const topic of ['participants', 'waiting', 'meeting', 'remotes'] as const) call.on(topic, render);
  // Unmute clicked while the host holds the mute: say why at once (the node refuses it and the
  // button falls back to muted).
  let micWasOn = call.local.isOn('mic');
  call.on('local', () => {
    const micOn = call.local.isOn('mic');
    if (micOn && !micWasOn && heldMuted(call)) toast(HOST_HOLDS_MUTE, 'error');
    micWasOn = micOn;
  });
  render();
  return h('section', { class: 'panel people', 'aria-labelledby': 'people-title' }, heading, heldNotice, hostBar, waitingSection, list);
}

/** The host muted this person's mic and participants may not unmute themselves. */
function heldMuted(call: Call): boolean {
  return (call.self?.mutedByHost.audio ?? false) && !(call.meeting?.participantsMayUnmute ?? true);
}

function personItem(call: Call, person: ParticipantView, viewerIsHost: boolean): HTMLElement {
  const isSelf = person.participantId === call.self?.participantId;
  const role = ROLE_LABEL[person.role];
  const controls: HTMLElement[] = [];
  if (viewerIsHost && !isSelf && person.role !== 'host') {
    const name = person.displayName;
    // A webinar attendee sends nothing to mute; the host may invite them to speak.
    if (person.role === 'attendee') controls.push(button('Invite to speak', () => call.send({ type: 'host.setRole', participantId: person.participantId, role: 'participant' }), { label: `Invite ${name} to speak`, class: 'btn btn-primary' }));
    else controls.push(button('Mute', () => call.send({ type: 'host.mute', participantId: person.participantId, kind: 'audio' }), { label: `Mute ${name}` }));
    if (call.meeting?.mode === 'webinar' && person.role !== 'attendee') {
      controls.push(button('Move to audience', () => call.send({ type: 'host.setRole', participantId: person.participantId, role: 'attendee' }), { label: `Move ${name} back to the audience` }));
    }
    controls.push(
      person.role === 'cohost'
        ? button('Remove co-host', () => call.send({ type: 'host.setRole', participantId: person.participantId, role: 'participant' }), { label: `Remove co-host role from ${name}` })
        : button('Make co-host', () => call.send({ type: 'host.setRole', participantId: person.participantId, role: 'cohost' }), { label: `Make ${name} co-host` }),
      button(
        'Remove',
        () => {
          if (confirm(`Remove ${name} from the meeting?`)) call.send({ type: 'host.remove', participantId: person.participantId });
        },
        { label: `Remove ${name}`, class: 'btn btn-danger' },
      ),
    );
  }
  return h(
    'li',
    { class: 'person', 'data-participant': person.participantId },
    person.handRaised ? h('span', { class: 'badge badge-hand' }, 'hand raised') : null,
    h('span', { class: 'person-name' }, person.displayName, isSelf ? ' (you)' : ''),
    role ? h('span', { class: 'badge' }, role) : null,
    person.mutedByHost.audio ? h('span', { class: 'badge', title: 'Muted by host' }, 'muted') : null,
    h('span', { class: 'person-controls' }, ...controls),
  );
}

import type { Call } from '../call/call.js';
import { button, h, toast } from '../lib/dom.js';
import { KeyedList } from '../lib/keyed-list.js';
import { HOST_HOLDS_MUTE } from '../lib/errors.js';
import type { ParticipantView, WaitingParticipant } from '../wire.js';

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
  // Not sent (the connection is down, the queue full; the person is told): the box shows the meeting's setting still.
  allowUnmute.addEventListener('change', () => call.send({ type: 'host.allowUnmute', allowed: allowUnmute.checked }) || (allowUnmute.checked = !allowUnmute.checked));
  const allowUnmuteToggle = h('label', { class: 'check' }, allowUnmute, ' Let participants unmute themselves');
  const hostBar = h('div', { class: 'host-bar' }, lock, muteAll, allowUnmuteToggle);
  // For the person the host muted while unmuting is off: why their Unmute does not work.
  const heldNotice = h('p', { class: 'notice muted', role: 'status', id: 'held-mute-notice', hidden: true }, HOST_HOLDS_MUTE);

  const people = new KeyedList(list, (person: ParticipantView) => person.participantId, () => new PersonRow(call));
  const waiting = new KeyedList(waitingList, (person: WaitingParticipant) => person.participantId, () => new WaitingRow(call));
  const render = () => {
    const isHost = call.isHost;
    const locked = call.meeting?.locked ?? false;
    lock.textContent = locked ? 'Unlock meeting' : 'Lock meeting';
    lock.setAttribute('aria-pressed', String(locked));
    allowUnmute.checked = call.meeting?.participantsMayUnmute ?? true;
    hostBar.hidden = !isHost;
    heldNotice.hidden = !heldMuted(call);
    heading.textContent = `People (${call.participants.size})`;
    people.render([...call.participants.values()].sort((a, b) => Number(b.handRaised) - Number(a.handRaised) || a.joinedAt - b.joinedAt));
    waitingSection.hidden = !isHost || call.waiting.length === 0;
    waiting.render(call.waiting);
  };
  for (const topic of ['participants', 'waiting', 'meeting'] as const) call.on(topic, render);
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

/** One person in the list: made once, updated in place (its buttons stay the ones under the pointer). */
class PersonRow {
  readonly element: HTMLElement;
  private person: ParticipantView | null = null;
  private readonly hand = h('span', { class: 'badge badge-hand' }, 'hand raised');
  private readonly name = h('span', { class: 'person-name' });
  private readonly role = h('span', { class: 'badge' });
  private readonly muted = h('span', { class: 'badge', title: 'Muted by host' }, 'muted');
  private readonly controls = h('span', { class: 'person-controls' });
  // A webinar attendee sends nothing to mute; the host may invite them to speak.
  private readonly invite = button('Invite to speak', () => this.setRole('participant'), { class: 'btn btn-primary' });
  private readonly mute = button('Mute', () => this.act((participantId) => this.call.send({ type: 'host.mute', participantId, kind: 'audio' })));
  private readonly lowerHand = button('Lower hand', () => this.act((participantId) => this.call.send({ type: 'host.lowerHand', participantId })));
  private readonly toAudience = button('Move to audience', () => this.setRole('attendee'));
  private readonly cohost = button('', () => this.setRole(this.person?.role === 'cohost' ? 'participant' : 'cohost'));
  private readonly remove = button(
    'Remove',
    () => this.act((participantId, name) => confirm(`Remove ${name} from the meeting?`) && this.call.send({ type: 'host.remove', participantId })),
    { class: 'btn btn-danger' },
  );

  constructor(private readonly call: Call) {
    this.controls.append(this.lowerHand, this.invite, this.mute, this.toAudience, this.cohost, this.remove);
    this.element = h('li', { class: 'person' }, this.hand, this.name, this.role, this.muted, this.controls);
  }

  update(person: ParticipantView): void {
    this.person = person;
    const call = this.call;
    const isSelf = person.participantId === call.self?.participantId;
    const name = person.displayName;
    this.element.dataset.participant = person.participantId;
    this.hand.hidden = !person.handRaised;
    this.name.textContent = isSelf ? `${name} (you)` : name;
    this.role.textContent = ROLE_LABEL[person.role];
    this.role.hidden = !ROLE_LABEL[person.role];
    this.muted.hidden = !person.mutedByHost.audio;
    this.controls.hidden = !(call.isHost && !isSelf && person.role !== 'host');
    const attendee = person.role === 'attendee';
    this.lowerHand.hidden = !person.handRaised;
    this.invite.hidden = !attendee;
    this.mute.hidden = attendee;
    this.toAudience.hidden = attendee || call.meeting?.mode !== 'webinar';
    const cohost = person.role === 'cohost';
    this.cohost.textContent = cohost ? 'Remove co-host' : 'Make co-host';
    label(this.lowerHand, `Lower ${name}'s hand`);
    label(this.invite, `Invite ${name} to speak`);
    label(this.mute, `Mute ${name}`);
    label(this.toAudience, `Move ${name} back to the audience`);
    label(this.cohost, cohost ? `Remove co-host role from ${name}` : `Make ${name} co-host`);
    label(this.remove, `Remove ${name}`);
  }

  private setRole(role: 'participant' | 'cohost' | 'attendee'): void {
    this.act((participantId) => this.call.send({ type: 'host.setRole', participantId, role }));
  }

  private act(action: (participantId: string, name: string) => unknown): void {
    if (this.person) action(this.person.participantId, this.person.displayName);
  }
}

/** One person knocking: Admit and Deny, kept across updates like the person rows. */
class WaitingRow {
  readonly element: HTMLElement;
  private person: WaitingParticipant | null = null;
  private readonly name = h('span', { class: 'person-name' });
  private readonly admit = button('Admit', () => this.person && this.call.send({ type: 'host.admit', participantId: this.person.participantId }), { class: 'btn btn-primary' });
  private readonly deny = button('Deny', () => this.person && this.call.send({ type: 'host.deny', participantId: this.person.participantId }));

  constructor(private readonly call: Call) {
    this.element = h('li', { class: 'person' }, this.name, this.admit, this.deny);
  }

  update(person: WaitingParticipant): void {
    this.person = person;
    this.name.textContent = person.displayName;
    label(this.admit, `Admit ${person.displayName}`);
    label(this.deny, `Deny ${person.displayName}`);
  }
}

function label(element: HTMLElement, text: string): void {
  if (element.getAttribute('aria-label') !== text) element.setAttribute('aria-label', text);
}

import type { Call } from '../call/call.js';
import { h, replaceChildren } from '../lib/dom.js';
import { CHAT_MAX_LENGTH, type ChatMessage } from '../wire.js';

/** Chat: the room's history on (re)connect, new messages live, a labelled input to send. */
export function chatPanel(call: Call): HTMLElement {
  const log = h('ol', { class: 'chat-log', 'aria-label': 'Chat messages', 'aria-live': 'polite' });
  const input = h('input', { type: 'text', name: 'chat', maxlength: CHAT_MAX_LENGTH, autocomplete: 'off', placeholder: 'Message everyone', 'aria-label': 'Chat message' });
  const form = h('form', { class: 'chat-form' }, input, h('button', { type: 'submit', class: 'btn' }, 'Send'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    // Not sent (the connection is down and too much waits for it): the text stays, to send again.
    if (call.sendChat(text)) input.value = '';
  });

  let rendered = 0;
  /**
   * Whether the reader is at the newest message: kept from scroll events (layout is fresh then)
   * instead of measured on every render, which forced a layout of the whole call page in the
   * middle of a join's welcome (tens of ms before the media session could go on).
   */
  let atNewest = true;
  log.addEventListener('scroll', () => (atNewest = log.scrollTop + log.clientHeight >= log.scrollHeight - 8), { passive: true });
  let scrollQueued = false;
  /** To the newest message at the next frame, when the browser lays the page out anyway. */
  const followNewest = () => {
    if (scrollQueued) return;
    scrollQueued = true;
    requestAnimationFrame(() => {
      scrollQueued = false;
      if (atNewest) log.scrollTop = log.scrollHeight;
    });
  };
  const render = () => {
    if (call.chat.length < rendered) {
      replaceChildren(log);
      rendered = 0;
    }
    if (call.chat.length === rendered) return;
    for (const message of call.chat.slice(rendered)) log.append(chatItem(message, message.participantId === call.self?.participantId));
    rendered = call.chat.length;
    if (atNewest) followNewest();
  };
  call.on('chat', () => {
    // The history no longer starts with what is shown (a new call's first welcome): render it afresh.
    if (call.chat.length > 0 && call.chat[0]?.messageId !== log.firstElementChild?.getAttribute('data-id')) {
      replaceChildren(log);
      rendered = 0;
    }
    // Messages only come in, so the newest shown still in its place means none went in before it.
    // One did (said earlier, brought by a welcome after a reconnect): shown again from there.
    if (rendered > 0 && call.chat[rendered - 1]?.messageId !== log.lastElementChild?.getAttribute('data-id')) {
      let same = 0;
      for (let item = log.firstElementChild; item && item.getAttribute('data-id') === call.chat[same]?.messageId; item = item.nextElementSibling) same += 1;
      while (log.children.length > same) log.lastElementChild?.remove();
      rendered = same;
    }
    render();
  });
  render();
  return h('section', { class: 'panel chat', 'aria-labelledby': 'chat-title' }, h('h2', { id: 'chat-title' }, 'Chat'), log, form);
}

function chatItem(message: ChatMessage, mine: boolean): HTMLElement {
  const time = new Date(message.sentAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return h(
    'li',
    { class: mine ? 'chat-item mine' : 'chat-item', 'data-id': message.messageId },
    h('div', { class: 'chat-meta' }, h('strong', {}, mine ? 'You' : message.displayName), ' ', h('time', { datetime: new Date(message.sentAt).toISOString() }, time)),
    h('div', { class: 'chat-text' }, message.text),
  );
}

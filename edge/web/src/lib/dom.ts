/** A tiny element builder: no framework, just typed DOM. */
export type Child = Node | string | number | null | undefined | false;
type Listener = (event: never) => void;
export type Attrs = Record<string, string | number | boolean | Listener | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2).toLowerCase(), value as EventListener);
    } else if (name === 'value' && 'value' in element) {
      (element as HTMLInputElement).value = String(value);
    } else if (name === 'checked' && element instanceof HTMLInputElement) {
      element.checked = Boolean(value);
    } else {
      element.setAttribute(name === 'className' ? 'class' : name, value === true ? '' : String(value));
    }
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

export function appRoot(): HTMLElement {
  const root = document.getElementById('app');
  if (!root) throw new Error('#app missing from index.html');
  return root;
}

/** Short status messages for everyone, screen readers included (the container is aria-live). */
export function toast(message: string, kind: 'info' | 'error' = 'info'): void {
  const container = document.getElementById('toasts');
  if (!container) return;
  const item = h('div', { class: `toast toast-${kind}` }, message);
  container.append(item);
  setTimeout(() => item.remove(), 5_000);
}

/** A labelled form field: the label wraps the control so it is always associated. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), control, hint ? h('span', { class: 'field-hint' }, hint) : null);
}

/** A button with an accessible name; icon-only buttons pass `label` as their aria-label. */
export function button(text: string, onClick: () => void, options: { label?: string; class?: string; pressed?: boolean; id?: string } = {}): HTMLButtonElement {
  return h(
    'button',
    {
      type: 'button',
      class: options.class ?? 'btn',
      'aria-label': options.label,
      'aria-pressed': options.pressed === undefined ? undefined : String(options.pressed),
      id: options.id,
      onclick: () => onClick(),
    },
    text,
  );
}

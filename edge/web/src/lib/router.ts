/** History-API routing: the Worker serves index.html for every non-/api path (SPA fallback). */
export type Route =
  | { name: 'home' }
  | { name: 'signin'; next: string | null }
  | { name: 'signup'; next: string | null }
  | { name: 'meeting'; linkId: string }
  | { name: 'notFound' };

export function parseRoute(location: Location): Route {
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const next = new URLSearchParams(location.search).get('next');
  const safeNext = next && next.startsWith('/') && !next.startsWith('//') ? next : null;
  if (path === '/') return { name: 'home' };
  if (path === '/signin') return { name: 'signin', next: safeNext };
  if (path === '/signup') return { name: 'signup', next: safeNext };
  const meeting = /^\/m\/([A-Za-z0-9_-]{22})$/.exec(path);
  if (meeting?.[1]) return { name: 'meeting', linkId: meeting[1] };
  return { name: 'notFound' };
}

let onNavigate: (() => void) | null = null;

export function startRouter(render: () => void): void {
  onNavigate = render;
  window.addEventListener('popstate', render);
  // Same-origin links navigate without a reload.
  document.addEventListener('click', (event) => {
    const anchor = (event.target as Element | null)?.closest?.('a[data-link]');
    if (!(anchor instanceof HTMLAnchorElement) || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(anchor.getAttribute('href') ?? '/');
  });
  render();
}

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  onNavigate?.();
}

const GUEST_KEY = 'edgemeet.guestKey';

/**
 * A random key this browser keeps and sends when joining as a guest, so that a guest the host
 * removed cannot come back under another name from the same browser. Not a credential.
 */
export function guestKey(): string | undefined {
  try {
    const existing = localStorage.getItem(GUEST_KEY);
    if (existing && /^[A-Za-z0-9_-]{16,64}$/.test(existing)) return existing;
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    const fresh = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    localStorage.setItem(GUEST_KEY, fresh);
    return fresh;
  } catch {
    return undefined; // storage refused (private mode): join without one
  }
}

import type { MiddlewareHandler } from 'hono';

/**
 * Headers on every response the Worker itself makes (/api/*): nothing it answers is a page, so
 * a browser that opens one directly may neither sniff it into HTML nor run, load or frame
 * anything from it. The web app's own headers (its CSP, Permissions-Policy …) come with the
 * static assets: edge/web/public/_headers.
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
};

export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  // A WebSocket upgrade (101) carries no document; its response object cannot be rebuilt.
  if (c.res.status === 101) return;
  try {
    for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) c.res.headers.set(name, value);
  } catch {
    // Headers of a response from a binding are immutable: copy it, then set them.
    const copy = new Response(c.res.body, c.res);
    for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) copy.headers.set(name, value);
    c.res = copy;
  }
};

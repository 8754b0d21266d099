import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { api } from '../helpers.js';

/**
 * Issue 13, point 15: the web app is served with a strict Content-Security-Policy and the other
 * browser protections (edge/web/public/_headers, applied by Workers static assets — here by
 * workerd through Miniflare); the API's own responses carry nosniff and a locked-down CSP.
 */
const navigate = (path: string) => SELF.fetch(`http://edgemeet.test${path}`, { headers: { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document' } });

function directives(csp: string | null): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of (csp ?? '').split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) map.set(name.toLowerCase(), sources);
  }
  return map;
}

describe('browser security headers', () => {
  for (const path of ['/', '/m/AAAAAAAAAAAAAAAAAAAAAA']) {
    it(`serves the web app at ${path} with a strict CSP, nosniff, Referrer-Policy and Permissions-Policy`, async () => {
      const response = await navigate(path);
      expect(response.status).toBe(200);
      expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
      const csp = directives(response.headers.get('Content-Security-Policy'));
      expect(csp.get('default-src')).toEqual(["'self'"]);
      expect(csp.get('script-src')).toEqual(["'self'"]);
      expect(csp.get('style-src')).toEqual(["'self'"]);
      expect(csp.get('object-src')).toEqual(["'none'"]);
      expect(csp.get('base-uri')).toEqual(["'none'"]);
      expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
      // the media nodes' signaling sockets are on other hosts and ports
      expect(csp.get('connect-src')).toEqual(expect.arrayContaining(["'self'", 'wss:']));
      for (const sources of csp.values()) {
        expect(sources).not.toContain("'unsafe-inline'");
        expect(sources).not.toContain("'unsafe-eval'");
        expect(sources).not.toContain('*');
      }
      expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
      expect(response.headers.get('Referrer-Policy')).toBe('no-referrer');
      const permissions = response.headers.get('Permissions-Policy') ?? '';
      for (const feature of ['camera', 'microphone', 'display-capture']) expect(permissions).toContain(`${feature}=(self)`);
      await response.arrayBuffer();
    });
  }

  it('builds a page the CSP allows: no inline script, style or event handler', async () => {
    const html = await (await navigate('/')).text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="\/[^"]+"/);
      expect(body!.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b/i);
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
  });

  it('sends nosniff and a locked-down CSP on API answers, errors included', async () => {
    for (const path of ['/api/openapi.json', '/api/auth/me', '/api/no-such-route']) {
      const response = await api('GET', path);
      expect(response.headers.get('X-Content-Type-Options'), path).toBe('nosniff');
      const csp = directives(response.headers.get('Content-Security-Policy'));
      expect(csp.get('default-src'), path).toEqual(["'none'"]);
      expect(csp.get('frame-ancestors'), path).toEqual(["'none'"]);
    }
  });
});

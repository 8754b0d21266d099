import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { readImageInfo } from '../auth/image-size.js';
import { api, registerUser } from './helpers.js';
import { jpegHeader, png } from './images.js';

describe('image header parsing', () => {
  it('reads PNG and JPEG sizes and refuses other bytes', async () => {
    expect(readImageInfo(await png(37, 19))).toEqual({ type: 'image/png', width: 37, height: 19 });
    expect(readImageInfo(jpegHeader(640, 480))).toEqual({ type: 'image/jpeg', width: 640, height: 480 });
    expect(readImageInfo(new TextEncoder().encode('GIF89a………'))).toBeNull();
    expect(readImageInfo(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]))).toBeNull();
  });
});

describe('avatar upload', () => {
  it('stores a PNG in R2 and serves it back', async () => {
    const { token, user } = await registerUser('Pic');
    const image = await png(64, 48);
    const upload = await api('PUT', '/api/auth/avatar', { token, body: image, headers: { 'Content-Type': 'image/png' } });
    expect(upload.status).toBe(200);
    expect(upload.body.avatarUrl).toMatch(new RegExp(`^/api/users/${user.id}/avatar\\?v=\\d+$`));

    const served = await env.FILES.get(`avatars/${user.id}`);
    expect(new Uint8Array(await served!.arrayBuffer())).toEqual(image);

    const me = await api('GET', '/api/auth/me', { token });
    expect(me.body.user.avatarUrl).toBe(upload.body.avatarUrl);

    const { SELF } = await import('cloudflare:test');
    const get = await SELF.fetch(`http://edgemeet.test${upload.body.avatarUrl}`);
    expect(get.status).toBe(200);
    expect(get.headers.get('Content-Type')).toBe('image/png');
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(image);
  });

  it('accepts a JPEG within 400×400', async () => {
    const { token, user } = await registerUser('Jay');
    const upload = await api('PUT', '/api/auth/avatar', { token, body: jpegHeader(400, 400), headers: { 'Content-Type': 'image/jpeg' } });
    expect(upload.status).toBe(200);
    expect((await env.FILES.head(`avatars/${user.id}`))?.httpMetadata?.contentType).toBe('image/jpeg');
  });

  it('refuses wrong types, oversize dimensions and bodies, and stores nothing', async () => {
    const { token, user } = await registerUser('Bad');
    const cases: { body: Uint8Array; type: string; status: number; code: string }[] = [
      { body: new TextEncoder().encode('GIF89a not really'), type: 'image/gif', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { body: jpegHeader(100, 100), type: 'image/png', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { body: new TextEncoder().encode('<svg/>'), type: 'image/png', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { body: jpegHeader(800, 600), type: 'image/jpeg', status: 400, code: 'VALIDATION_FAILED' },
      { body: await png(401, 10), type: 'image/png', status: 400, code: 'VALIDATION_FAILED' },
      { body: await png(10, 10, 600 * 1024), type: 'image/png', status: 413, code: 'PAYLOAD_TOO_LARGE' },
    ];
    for (const { body, type, status, code } of cases) {
      const response = await api('PUT', '/api/auth/avatar', { token, body, headers: { 'Content-Type': type } });
      expect({ status: response.status, code: response.body.error?.code }).toEqual({ status, code });
    }
    expect(await env.FILES.head(`avatars/${user.id}`)).toBeNull();
    expect((await api('GET', '/api/auth/me', { token })).body.user.avatarUrl).toBeNull();
    expect((await api('GET', `/api/users/${user.id}/avatar`)).body.error.code).toBe('NOT_FOUND');
  });

  it('needs a session', async () => {
    const response = await api('PUT', '/api/auth/avatar', { body: await png(8, 8), headers: { 'Content-Type': 'image/png' } });
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('UNAUTHENTICATED');
  });
});

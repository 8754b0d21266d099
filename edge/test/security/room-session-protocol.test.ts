import { SELF } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOM_SOCKET_PROTOCOL, roomSocketProtocols } from '../../../schema/wire/http.js';
import { registerUser } from '../helpers.js';
import { joinMeeting, RoomClient, seatedMeeting } from '../kits/room-kit.js';

/**
 * Issue 13, point 16: the room session is a bearer secret, so it travels as a WebSocket
 * subprotocol and never in the URL (which ends up in logs, history and Referer). A session in
 * `?session=` opens nothing; the server answers the subprotocol `edgemeet.room` only.
 */
// This file's meetings live in Nairobi; no other security test places media there.
const NAIROBI = { latitude: '-1.2921', longitude: '36.8219' };

let host: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Host Nia');
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) done();
});

function roomSocket(linkId: string, init: { query?: string; protocols?: string[] }) {
  const headers: Record<string, string> = { Upgrade: 'websocket' };
  if (init.protocols) headers['Sec-WebSocket-Protocol'] = init.protocols.join(', ');
  return SELF.fetch(`http://edgemeet.test/api/meetings/${linkId}/ws${init.query ?? ''}`, { headers });
}

describe('room session as a subprotocol', () => {
  it('opens with the session offered as a subprotocol and answers edgemeet.room only', async () => {
    const { settings } = await seatedMeeting({ host, region: 'nbo', cf: NAIROBI, cleanup });
    const joined = await joinMeeting(settings.linkId, { displayName: 'Guest' }, { cf: NAIROBI });
    const session = joined.body.roomSession as string;

    const response = await roomSocket(settings.linkId, { protocols: roomSocketProtocols(session) });
    expect(response.status).toBe(101);
    expect(response.headers.get('Sec-WebSocket-Protocol')).toBe(ROOM_SOCKET_PROTOCOL);
    response.webSocket!.accept();
    const client = new RoomClient(response.webSocket!);
    cleanup.push(() => client.close());
    await client.next('welcome');
  });

  it('refuses the session in the URL, and a session protocol without edgemeet.room', async () => {
    const { settings } = await seatedMeeting({ host, region: 'nbo', cf: NAIROBI, cleanup });
    const joined = await joinMeeting(settings.linkId, { displayName: 'Guest' }, { cf: NAIROBI });
    const session = joined.body.roomSession as string;

    const inUrl = await roomSocket(settings.linkId, { query: `?session=${encodeURIComponent(session)}` });
    expect(inUrl.status).toBe(400);
    expect(((await inUrl.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');

    const sessionOnly = await roomSocket(settings.linkId, { protocols: [`edgemeet.session.${session}`] });
    expect(sessionOnly.status).toBe(400);

    const unknown = await roomSocket(settings.linkId, { protocols: roomSocketProtocols('x'.repeat(43)) });
    expect(unknown.status).toBe(101);
    expect(unknown.headers.get('Sec-WebSocket-Protocol')).toBe(ROOM_SOCKET_PROTOCOL);
    unknown.webSocket!.accept();
    const refused = new RoomClient(unknown.webSocket!);
    await expect.poll(() => refused.closeCode).not.toBeNull();
  });
});

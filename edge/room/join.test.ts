import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { importJWK, jwtVerify } from 'jose';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { joinResponseSchema } from '../../schema/wire/http.js';
import { mediaTokenClaimsSchema } from '../../schema/wire/media-token.js';
import { api, registerUser } from '../test/helpers.js';
import { connectFakeNode, regionStubFor, type FakeNode } from '../test/kits/fake-node.js';
import type { RegionDO } from '../registry/region-do.js';
import { configureMeeting, joinMeeting, newLinkId, openRoomSocket, roomStub } from '../test/kits/room-kit.js';
import type { RoomDO } from './room-do.js';
import { TURN_CREDENTIAL_TTL_SECONDS } from './turn-credentials.js';

// Each file places its meetings in regions no other test file uses, so node choice is predictable.
const MUMBAI = { latitude: '19.0760', longitude: '72.8777' };
const SAO_PAULO = { latitude: '-23.5505', longitude: '-46.6333' };
const TOKYO = { latitude: '35.6762', longitude: '139.6503' };

let host: Awaited<ReturnType<typeof registerUser>>;
let member: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Hosting Hanna');
  member = await registerUser('Member Max');
});

const nodes: FakeNode[] = [];
async function node(options: Parameters<typeof connectFakeNode>[0] = {}) {
  const fake = await connectFakeNode({ region: 'bom', ...options });
  nodes.push(fake);
  return fake;
}
afterEach(() => {
  for (const fake of nodes.splice(0)) fake.retire();
});

describe('join: refusals', () => {
  it('answers MEETING_NOT_FOUND for a link nobody configured, and 400 for a malformed link id', async () => {
    const probed = newLinkId();
    const unknown = await joinMeeting(probed, { displayName: 'Guest' }, { cf: MUMBAI });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('MEETING_NOT_FOUND');
    // Probing a link leaves no storage behind in its object.
    const tables = await runInDurableObject(roomStub(probed), (_i: RoomDO, state) =>
      state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf%' AND name NOT LIKE 'sqlite%'").toArray(),
    );
    expect(tables).toEqual([]);
    const malformed = await api('POST', '/api/meetings/not-a-link/join', { json: { displayName: 'Guest' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('answers malformed join bodies with 4xx and a code, without creating a participant', async () => {
    await node();
    const meeting = await configureMeeting(host.user.id);
    const bad: { body: string; code: string }[] = [
      { body: '{not json', code: 'BAD_REQUEST' },
      { body: JSON.stringify({ displayName: 'x'.repeat(21) }), code: 'VALIDATION_FAILED' },
      { body: JSON.stringify({ displayName: '   ' }), code: 'VALIDATION_FAILED' },
      { body: JSON.stringify({ displayName: 42 }), code: 'VALIDATION_FAILED' },
      { body: JSON.stringify({ displayName: 'Ok', passcode: 1234 }), code: 'VALIDATION_FAILED' },
      { body: JSON.stringify({ displayName: 'Ok', passcode: 'p'.repeat(33) }), code: 'VALIDATION_FAILED' },
      { body: JSON.stringify({}), code: 'VALIDATION_FAILED' },
      { body: JSON.stringify(['array']), code: 'VALIDATION_FAILED' },
    ];
    for (const { body, code } of bad) {
      const response = await api('POST', `/api/meetings/${meeting.linkId}/join`, { body, headers: { 'Content-Type': 'application/json' } });
      expect(response.status, body).toBeGreaterThanOrEqual(400);
      expect(response.status, body).toBeLessThan(500);
      expect(response.body.error.code, body).toBe(code);
    }
    const count = await runInDurableObject(roomStub(meeting.linkId), (instance: RoomDO) => instance.room.participants.count('joined') + instance.room.participants.count('waiting'));
    expect(count).toBe(0);
  });

  it('checks the passcode for everyone but the host', async () => {
    const fake = await node();
    const meeting = await configureMeeting(host.user.id, { passcode: 'S3cret' });
    expect((await joinMeeting(meeting.linkId, { displayName: 'Guest' }, { cf: MUMBAI })).body.error.code).toBe('WRONG_PASSCODE');
    const wrong = await joinMeeting(meeting.linkId, { displayName: 'Guest', passcode: 's3cret' }, { cf: MUMBAI });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('WRONG_PASSCODE');
    const hostJoin = await joinMeeting(meeting.linkId, {}, { cf: MUMBAI, token: host.token });
    expect(hostJoin.status).toBe(200);
    expect(hostJoin.body).toMatchObject({ role: 'host', status: 'joined', media: { nodeId: fake.nodeId, region: 'bom' } });
    const right = await joinMeeting(meeting.linkId, { displayName: 'Guest', passcode: 'S3cret' }, { cf: MUMBAI });
    expect(right.status).toBe(200);
    expect(joinResponseSchema.parse(right.body)).toMatchObject({ role: 'guest', status: 'joined' });
  });

  it('hands out TURN credentials by the TURN REST scheme (coturn use-auth-secret), good for hours', async () => {
    await node();
    const meeting = await configureMeeting(host.user.id);
    const joined = await joinMeeting(meeting.linkId, { displayName: 'Tariq' }, { cf: MUMBAI });
    const [turn] = joinResponseSchema.parse(joined.body).media?.iceServers ?? [];
    expect(turn?.urls).toEqual(['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp']);
    const [expiry, who] = turn!.username.split(':');
    expect(who).toBe(joined.body.participantId);
    expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(TURN_CREDENTIAL_TTL_SECONDS - 60);
    // The password coturn computes from the shared secret: base64(HMAC-SHA1(secret, username)).
    const key = await crypto.subtle.importKey('raw', new TextEncoder().encode('test-turn-secret-0123456789'), { name: 'HMAC', hash: 'SHA-1' }, false, ['verify']);
    const mac = Uint8Array.from(atob(turn!.credential), (c) => c.charCodeAt(0));
    expect(await crypto.subtle.verify('HMAC', key, mac, new TextEncoder().encode(turn!.username))).toBe(true);
  });

  it('refuses guests when the meeting is for signed-in users only', async () => {
    await node();
    const meeting = await configureMeeting(host.user.id, { allowGuests: false });
    const guest = await joinMeeting(meeting.linkId, { displayName: 'Guest' }, { cf: MUMBAI });
    expect(guest.status).toBe(403);
    expect(guest.body.error.code).toBe('GUESTS_NOT_ALLOWED');
    const user = await joinMeeting(meeting.linkId, {}, { cf: MUMBAI, token: member.token });
    expect(user.body).toMatchObject({ role: 'participant', status: 'joined' });
  });

  it('refuses joins beyond maxParticipants with MEETING_FULL', async () => {
    await node();
    const meeting = await configureMeeting(host.user.id, { maxParticipants: 2 });
    expect((await joinMeeting(meeting.linkId, {}, { cf: MUMBAI, token: host.token })).status).toBe(200);
    expect((await joinMeeting(meeting.linkId, { displayName: 'One' }, { cf: MUMBAI })).status).toBe(200);
    const third = await joinMeeting(meeting.linkId, { displayName: 'Two' }, { cf: MUMBAI });
    // 409, not 503: a 5xx invites automatic retries of a meeting that stays full.
    expect(third.status).toBe(409);
    expect(third.body.error.code).toBe('MEETING_FULL');
  });

  it('refuses new joins while locked (the host still gets in) and after the meeting ended', async () => {
    await node();
    const meeting = await configureMeeting(host.user.id);
    const hostJoin = await joinMeeting(meeting.linkId, {}, { cf: MUMBAI, token: host.token });
    const socket = await openRoomSocket(meeting.linkId, hostJoin.body.roomSession);
    await socket.next('welcome');
    expect(await socket.request({ type: 'host.lock', locked: true })).toMatchObject({ type: 'ack' });
    const locked = await joinMeeting(meeting.linkId, { displayName: 'Late' }, { cf: MUMBAI });
    expect(locked.body.error.code).toBe('MEETING_LOCKED');
    expect((await joinMeeting(meeting.linkId, {}, { cf: MUMBAI, token: host.token })).status).toBe(200);
    await roomStub(meeting.linkId).end();
    expect(await socket.next('closed')).toMatchObject({ code: 'MEETING_ENDED' });
    const ended = await joinMeeting(meeting.linkId, {}, { cf: MUMBAI, token: host.token });
    expect(ended.status).toBe(410);
    expect(ended.body.error.code).toBe('MEETING_ENDED');
  });
});

describe('join: media assignment', () => {
  it('gives the joiner a signaling URL and a media token the node can verify with the public key', async () => {
    const fake = await node();
    const meeting = await configureMeeting(host.user.id);
    const joined = joinResponseSchema.parse((await joinMeeting(meeting.linkId, { displayName: 'Grace' }, { cf: MUMBAI })).body);
    expect(joined.media).toMatchObject({ nodeId: fake.nodeId, signalingUrl: `ws://${fake.nodeId}.media.test:4443` });
    const key = await importJWK(JSON.parse(inject('mediaTokenPublicJwk')), 'ES256');
    const { payload } = await jwtVerify(joined.media!.token, key, { audience: fake.nodeId, issuer: 'edgemeet-edge' });
    const claims = mediaTokenClaimsSchema.parse(payload);
    expect(claims).toMatchObject({ sub: joined.participantId, mid: meeting.linkId, name: 'Grace', perms: ['publish', 'subscribe', 'screen'] });
    expect(claims.exp - claims.iat).toBe(120);
    // The issue time to the millisecond, which a node compares with the edge's close time of the meeting.
    expect(Math.floor(claims.iatMs! / 1000)).toBe(claims.iat);
    expect(joined.media!.expiresAt).toBe(claims.exp * 1000);
  });

  it('mints one media token per join: the socket’s welcome hands out the token the join answered', async () => {
    await node();
    const meeting = await configureMeeting(host.user.id);
    const joined = await joinMeeting(meeting.linkId, { displayName: 'Once' }, { cf: MUMBAI });
    expect(joined.body.media?.token).toBeTruthy();
    const socket = await openRoomSocket(meeting.linkId, joined.body.roomSession);
    const welcome = await socket.next('welcome');
    // The same token (same jti): the signer ran once for this join.
    expect(welcome.media).toEqual(joined.body.media);
    // A refresh is the client asking for a new one: that one is fresh.
    expect(await socket.request({ type: 'media.refresh' })).toMatchObject({ type: 'ack' });
    expect((await socket.next('media.assignment')).media.token).not.toBe(joined.body.media.token);
    socket.close();
  });

  it('50 parallel first joins of one meeting all get the same node, placed once', async () => {
    // Two equal nodes: without serialisation, concurrent placements would spread over both. Each
    // big enough for a meeting of 50 (~4,900 consumers), so that no later join spills either.
    const a = await node({ load: { consumers: 0, consumerCapacity: 1_000_000 } });
    const b = await node({ load: { consumers: 0, consumerCapacity: 1_000_000 } });
    const meeting = await configureMeeting(host.user.id);
    const statsBefore = await runInDurableObject(regionStubFor('bom'), (instance: RegionDO) => ({ ...instance.stats }));
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => joinMeeting(meeting.linkId, { displayName: `Guest ${i}` }, { cf: MUMBAI })));
    expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(200));
    const nodeIds = new Set(answers.map((answer) => answer.body.media.nodeId));
    expect(nodeIds.size).toBe(1);
    const [chosen] = [...nodeIds];
    expect([a.nodeId, b.nodeId]).toContain(chosen);
    const fleet = await regionStubFor('bom').fleet();
    const rooms = fleet.filter((n) => n.nodeId === a.nodeId || n.nodeId === b.nodeId).map((n) => n.rooms);
    expect(rooms.reduce((sum, n) => sum + n, 0)).toBe(1);
    const placements = await runInDurableObject(regionStubFor('bom'), (_i: RegionDO, state) =>
      state.storage.sql.exec<{ node_id: string }>('SELECT node_id FROM node_rooms WHERE meeting_link_id = ?', meeting.linkId).toArray(),
    );
    expect(placements).toEqual([{ node_id: chosen }]);
    // The RoomDO serialised its first joins: the region was asked once, not 50 times.
    const statsAfter = await runInDurableObject(regionStubFor('bom'), (instance: RegionDO) => ({ ...instance.stats }));
    expect(statsAfter.placeRequests - statsBefore.placeRequests).toBe(1);
    expect(statsAfter.newPlacements - statsBefore.newPlacements).toBe(1);
    const count = await runInDurableObject(roomStub(meeting.linkId), (instance: RoomDO) => instance.room.participants.count('joined'));
    expect(count).toBe(50);
  });

  it('answers NO_MEDIA_CAPACITY when no region has a serving node with room', async () => {
    const meeting = await configureMeeting(host.user.id);
    // Astana has no nodes in any test: the join has nowhere to go.
    const result = await roomStub(meeting.linkId).join({ user: null, displayName: 'Guest', regions: ['nqz'] });
    expect(result).toMatchObject({ ok: false, code: 'NO_MEDIA_CAPACITY' });
    const count = await runInDurableObject(roomStub(meeting.linkId), (instance: RoomDO) => instance.room.participants.count('joined'));
    expect(count).toBe(0);
  });
});

/**
 * What the RoomDO's storage did while `work` ran: statements by verb and alarm writes. Counted on
 * the storage prototypes, for this room's storage only (the RegionDO keeps writing heartbeats).
 */
async function roomStorageOps(linkId: string, work: () => Promise<void>): Promise<{ reads: number; writes: number; alarmWrites: number }> {
  const counts = { reads: 0, writes: 0, alarmWrites: 0 };
  const restore = await runInDurableObject(roomStub(linkId), (_instance: RoomDO, state) => {
    const storage = state.storage;
    const sql = storage.sql;
    const sqlProto = Object.getPrototypeOf(sql) as SqlStorage;
    const storageProto = Object.getPrototypeOf(storage) as DurableObjectStorage;
    const exec = sqlProto.exec;
    const setAlarm = storageProto.setAlarm;
    const deleteAlarm = storageProto.deleteAlarm;
    sqlProto.exec = function (this: SqlStorage, query: string, ...params: SqlStorageValue[]) {
      if (this === sql) counts[/^\s*SELECT/i.test(query) ? 'reads' : 'writes'] += 1;
      return exec.call(this, query, ...params);
    } as SqlStorage['exec'];
    storageProto.setAlarm = function (this: DurableObjectStorage, ...args: Parameters<DurableObjectStorage['setAlarm']>) {
      if (this === storage) counts.alarmWrites += 1;
      return setAlarm.apply(this, args);
    };
    storageProto.deleteAlarm = function (this: DurableObjectStorage, ...args: Parameters<DurableObjectStorage['deleteAlarm']>) {
      if (this === storage) counts.alarmWrites += 1;
      return deleteAlarm.apply(this, args);
    };
    return () => {
      sqlProto.exec = exec;
      storageProto.setAlarm = setAlarm;
      storageProto.deleteAlarm = deleteAlarm;
    };
  });
  try {
    await work();
  } finally {
    await runInDurableObject(roomStub(linkId), () => restore());
  }
  return counts;
}

describe('join: cost per join (docs/benchmarks.md, Joins)', () => {
  it("a meeting's first join asks its region's RegionDO once", async () => {
    const fake = await node();
    const meeting = await configureMeeting(host.user.id);
    const placeRequests = () => runInDurableObject(regionStubFor('bom'), (instance: RegionDO) => instance.stats.placeRequests);
    const before = await placeRequests();
    expect((await joinMeeting(meeting.linkId, { displayName: 'First' }, { cf: MUMBAI })).body.media).toMatchObject({ nodeId: fake.nodeId });
    expect(await placeRequests()).toBe(before + 1);
  });

  it('a join to a meeting already on a node does not ask the RegionDO', async () => {
    const fake = await node();
    const meeting = await configureMeeting(host.user.id);
    expect((await joinMeeting(meeting.linkId, { displayName: 'First' }, { cf: MUMBAI })).body.media).toMatchObject({ nodeId: fake.nodeId });
    const before = await runInDurableObject(regionStubFor('bom'), (instance: RegionDO) => instance.stats.placeRequests);
    for (const name of ['Second', 'Third', 'Fourth']) {
      expect((await joinMeeting(meeting.linkId, { displayName: name }, { cf: MUMBAI })).body.media).toMatchObject({ nodeId: fake.nodeId });
    }
    expect(await runInDurableObject(regionStubFor('bom'), (instance: RegionDO) => instance.stats.placeRequests)).toBe(before);
  });

  it('a join after the first, its history sent, takes a handful of statements and no alarm write', async () => {
    await node();
    const meeting = await configureMeeting(host.user.id);
    expect((await joinMeeting(meeting.linkId, { displayName: 'First' }, { cf: MUMBAI })).status).toBe(200);
    const ops = await roomStorageOps(meeting.linkId, async () => {
      for (const name of ['Second', 'Third']) expect((await joinMeeting(meeting.linkId, { displayName: name }, { cf: MUMBAI })).status).toBe(200);
      await expect.poll(() => runInDurableObject(roomStub(meeting.linkId), (instance: RoomDO) => instance.room.outbox.hasPending())).toBe(false);
    });
    // Per join: the participant, what bars would cover, two history rows; then the outbox's send
    // (read, delete). Settings, lock, seats taken, bars, node and deadlines come from memory, and
    // the outbox's pending deadline from the first join covers the next ones' history.
    expect(ops.writes).toBeGreaterThanOrEqual(2 * 4);
    expect(ops.writes).toBeLessThanOrEqual(2 * 4 + 2);
    expect(ops.reads).toBeLessThanOrEqual(2 * 2);
    expect(ops.alarmWrites).toBe(0);
  });
});

describe('join: anycast region choice', () => {
  it('sends a client in Tokyo to the Tokyo region', async () => {
    const tokyo = await node({ region: 'tyo' });
    const meeting = await configureMeeting(host.user.id);
    const joined = await joinMeeting(meeting.linkId, { displayName: 'Kenji' }, { cf: TOKYO });
    expect(joined.body.media).toMatchObject({ region: 'tyo', nodeId: tokyo.nodeId });
  });

  it('falls back to the next nearest region when the nearest is full', async () => {
    await node({ region: 'rio', load: { consumers: 990, consumerCapacity: 1_000 } });
    const newYork = await node({ region: 'nyc' });
    const meeting = await configureMeeting(host.user.id);
    const joined = await joinMeeting(meeting.linkId, { displayName: 'Bia' }, { cf: SAO_PAULO });
    expect(joined.body.media).toMatchObject({ region: 'nyc', nodeId: newYork.nodeId });
  });

  it('falls back when the nearest region’s node is down, and a meeting on a lost node moves', async () => {
    const rio = await node({ region: 'rio' });
    const newYork = await node({ region: 'nyc' });
    const first = await configureMeeting(host.user.id);
    expect((await joinMeeting(first.linkId, { displayName: 'Ana' }, { cf: SAO_PAULO })).body.media).toMatchObject({ nodeId: rio.nodeId });
    // Rio's heartbeats stop; its alarm marks it down and tells the meeting.
    rio.stall();
    await runInDurableObject(regionStubFor('rio'), (_i: RegionDO, state) => {
      state.storage.sql.exec('UPDATE nodes SET last_heartbeat_at = ? WHERE node_id = ?', Date.now() - 60_000, rio.nodeId);
    });
    expect(await runDurableObjectAlarm(regionStubFor('rio'))).toBe(true);
    const assignment = await runInDurableObject(roomStub(first.linkId), (instance: RoomDO) => instance.room.meeting.assignment());
    expect(assignment).toBeNull();
    const again = await joinMeeting(first.linkId, { displayName: 'Bruno' }, { cf: SAO_PAULO });
    expect(again.body.media).toMatchObject({ region: 'nyc', nodeId: newYork.nodeId });
    const second = await configureMeeting(host.user.id);
    expect((await joinMeeting(second.linkId, { displayName: 'Caio' }, { cf: SAO_PAULO })).body.media).toMatchObject({ region: 'nyc' });
  });
});

describe('join: waiting room', () => {
  it('holds guests until the host admits them; denied guests are told and closed', async () => {
    await node();
    const meeting = await configureMeeting(host.user.id, { waitingRoom: true, passcode: 'abcd1234' });
    const hostJoin = await joinMeeting(meeting.linkId, {}, { cf: MUMBAI, token: host.token });
    expect(hostJoin.body.status).toBe('joined');
    const hostSocket = await openRoomSocket(meeting.linkId, hostJoin.body.roomSession);
    await hostSocket.next('welcome');

    const guest = await joinMeeting(meeting.linkId, { displayName: 'Waiting Wu', passcode: 'abcd1234' }, { cf: MUMBAI });
    expect(guest.body).toMatchObject({ status: 'waiting', media: null, role: 'guest' });
    const guestSocket = await openRoomSocket(meeting.linkId, guest.body.roomSession);
    expect(await guestSocket.next('waiting')).toEqual({ type: 'waiting', position: 0 });
    await hostSocket.next('waiting.updated', (m) => m.waiting.some((w) => w.participantId === guest.body.participantId));
    // A waiting participant cannot act in the room.
    expect(await guestSocket.request({ type: 'chat.send', text: 'let me in' })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });

    expect(await hostSocket.request({ type: 'host.admit', participantId: guest.body.participantId })).toMatchObject({ type: 'ack' });
    await guestSocket.next('admitted');
    const welcome = await guestSocket.next('welcome');
    expect(welcome.self).toMatchObject({ participantId: guest.body.participantId, role: 'guest' });
    expect(welcome.media?.token).toBeTruthy();
    await hostSocket.next('participant.joined', (m) => m.participant.participantId === guest.body.participantId);

    const other = await joinMeeting(meeting.linkId, { displayName: 'Denied Dan', passcode: 'abcd1234' }, { cf: MUMBAI });
    const otherSocket = await openRoomSocket(meeting.linkId, other.body.roomSession);
    await otherSocket.next('waiting');
    expect(await hostSocket.request({ type: 'host.deny', participantId: other.body.participantId })).toMatchObject({ type: 'ack' });
    expect(await otherSocket.next('closed')).toMatchObject({ code: 'ADMISSION_DENIED' });
    expect(await otherSocket.whenClosed()).toBe(4007);
    // The denied session stays dead.
    const retry = await openRoomSocket(meeting.linkId, other.body.roomSession);
    expect(await retry.next('closed')).toMatchObject({ code: 'ADMISSION_DENIED' });
  });
});

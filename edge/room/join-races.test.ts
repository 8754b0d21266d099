import { runInDurableObject } from 'cloudflare:test';
import { decodeJwt } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../test/helpers.js';
import { connectFakeNode, type FakeNode } from '../test/kits/fake-node.js';
import { configureMeeting, joinMeeting, openRoomSocket, roomStub, seatedMeeting } from '../test/kits/room-kit.js';
import type { RegionId } from '../../schema/regions.js';
import { removeWithOtherSessions } from './removal.js';
import type { RoomDO } from './room-do.js';

/**
 * A join is seated, then awaits the newcomer's node (the own region's registry, an RPC); the room
 * takes other calls meanwhile. What happened then must hold: no media token for a meeting that
 * ended, or for a newcomer the host removed (the removal went to the nodes known at the time, not
 * to the one being chosen). The interleaving is forced by wrapping the awaited step.
 */
const SAN_FRANCISCO = { latitude: '37.7749', longitude: '-122.4194' };
const NAIROBI = { latitude: '-1.2921', longitude: '36.8219' };
const SINGAPORE = { latitude: '1.3521', longitude: '103.8198' };
const ROOMY = { consumerCapacity: 1_000_000, cpuPerWorker: [0, 0] };

let host: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Host Hal');
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0).reverse()) done();
});

async function roomyNode(region: RegionId): Promise<FakeNode> {
  const fake = await connectFakeNode({ region, load: ROOMY });
  fake.answerCommands();
  cleanup.push(() => fake.retire());
  return fake;
}

describe('what happens while a join awaits its node', () => {
  it('the host removes the newcomer meanwhile: refused, no media token for a node that was never told', async () => {
    const home = await roomyNode('sfo');
    const far = await roomyNode('nbo');
    const { linkId } = await configureMeeting(host.user.id);
    const hostJoin = await joinMeeting(linkId, {}, { cf: SAN_FRANCISCO, token: host.token });
    expect(hostJoin.body.media.nodeId).toBe(home.nodeId);
    const hostSocket = await openRoomSocket(linkId, hostJoin.body.roomSession);
    cleanup.push(() => hostSocket.close());
    await hostSocket.next('welcome');

    // The host removes the newcomer while the Nairobi registry is being asked for their node.
    await runInDurableObject(roomStub(linkId), (instance: RoomDO) => {
      const spread = (instance.media as unknown as { spread: Record<string, (...args: unknown[]) => Promise<unknown>> }).spread;
      const firstNodeIn = spread.firstNodeIn!.bind(spread);
      spread.firstNodeIn = async (...args: unknown[]) => {
        const node = await firstNodeIn(...args);
        const newcomer = instance.room.participants.withStatus('joined').find((p) => p.role !== 'host');
        if (newcomer) await removeWithOtherSessions(instance.room, instance.media, newcomer);
        return node;
      };
    });
    const joined = await joinMeeting(linkId, { displayName: 'Mallory' }, { cf: NAIROBI });
    const mallory = await runInDurableObject(roomStub(linkId), (instance: RoomDO) => instance.room.participants.withStatus('removed').find((p) => p.displayName === 'Mallory'));
    const status = mallory?.status;
    const told = (node: FakeNode) => node.commands('closeParticipant').some((command) => command.command === 'closeParticipant' && command.participantId === mallory?.participantId);

    expect(status).toBe('removed');
    expect(told(home)).toBe(true);
    expect({
      status: joined.status,
      tokenFor: joined.body?.media?.nodeId === far.nodeId ? 'far node' : (joined.body?.media?.nodeId ?? null),
      farNodeToldOfRemoval: told(far),
    }).toEqual({ status: 403, tokenFor: null, farNodeToldOfRemoval: false });
    expect(joined.body?.error?.code).toBe('REMOVED_BY_HOST');
  });

  it('the meeting ends meanwhile: refused (MEETING_ENDED), no media token outlives the end', async () => {
    const room = await seatedMeeting({ host, region: 'sin', cf: SINGAPORE, cleanup, guests: 0 });
    const link = room.settings.linkId;
    // The host's "End" lands while the next joiner's node is being chosen (an awaited RPC).
    await runInDurableObject(roomStub(link), (instance: RoomDO) => {
      const media = instance.media;
      const original = media.nodeForNewcomer.bind(media);
      media.nodeForNewcomer = async (...args: Parameters<typeof original>) => {
        await instance.end();
        return original(...args);
      };
    });
    const joined = await joinMeeting(link, { displayName: 'Late Larry' }, { cf: SINGAPORE });
    const ended = await runInDurableObject(roomStub(link), (instance: RoomDO) => instance.room.meeting.ended());
    const close = room.node.commands('closeMeeting')[0];
    const token = joined.body?.media?.token as string | undefined;
    const iatMs = token ? (decodeJwt(token).iatMs as number) : null;
    const closedAt = close && close.command === 'closeMeeting' ? close.closedAt : null;
    expect(ended).toBe(true);
    expect({
      status: joined.status,
      code: joined.body?.error?.code ?? null,
      // A token issued >100 ms after closedAt passes the node's EndedMeetings check.
      tokenIssuedAfterClose: iatMs !== null && closedAt != null ? iatMs >= closedAt : null,
    }).toEqual({ status: 410, code: 'MEETING_ENDED', tokenIssuedAfterClose: null });
  });
});

import { runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../test/helpers.js';
import { roomStub, seatedMeeting, type Seat } from '../test/kits/room-kit.js';
import { LET_GO_TIMER } from './media-let-go.js';
import { RELEASE_TIMER } from './media.js';
import type { RoomDO } from './room-do.js';
import { TIMERS_TABLE } from './timers.js';

/** Several deadlines share the room's one alarm (timers.ts): one failing must not take the others with it. */
const AUCKLAND = { latitude: '-36.8485', longitude: '174.7633' };

let host: Awaited<ReturnType<typeof registerUser>>;
beforeAll(async () => {
  host = await registerUser('Host Ana');
});

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const done of cleanup.splice(0)) done();
});

describe('the room alarm', () => {
  it('a deadline whose handler throws is set again, and the other deadlines due with it still run', async () => {
    const room = await seatedMeeting({ host, region: 'syd', cf: AUCKLAND, cleanup, guests: 1 });
    const [guest] = room.guests as [Seat];
    guest.socket.close();
    await room.host.socket.next('participant.left', (m) => m.participantId === guest.participantId);
    const stub = roomStub(room.settings.linkId);
    const before = Date.now();
    await runInDurableObject(stub, async (instance: RoomDO, state) => {
      // Both due: the release check fails (say, the registry is unreachable), the let-go is fine.
      // Written as due rows without arming the storage alarm, then the alarm handler runs here.
      instance.media.onReleaseDue = () => Promise.reject(new Error('registry unreachable'));
      instance.room.letGo.schedule(guest.participantId, before - 1);
      for (const name of [RELEASE_TIMER, LET_GO_TIMER]) state.storage.sql.exec(`INSERT INTO ${TIMERS_TABLE} (name, at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at`, name, before - 1);
      instance.room.timers.forget();
      await instance.alarm();
    });

    const closes = room.node.commands('closeParticipant').filter((command) => command.command === 'closeParticipant' && command.participantId === guest.participantId);
    expect(closes).toHaveLength(1);
    const release = await runInDurableObject(stub, (instance: RoomDO) => (instance.room.timers as unknown as { pending(): Map<string, number> }).pending().get(RELEASE_TIMER));
    expect(release).toBeGreaterThan(before);
  });
});

import { describe, expect, it } from 'vitest';
import { randomBytes, toBase64Url } from '../../auth/encoding.js';
import { postgresConnectionsOpened } from '../../db/client.js';
import { api } from '../helpers.js';

/**
 * Issue 13, point 7: looking up links that lead nowhere is answered from the edge cache; a scan
 * that comes back over the same links costs Postgres nothing.
 */
const randomLink = () => toBase64Url(randomBytes(16));

describe('public meeting view under a scan of random links', () => {
  it('asks Postgres at most once per unknown link, and not at all when the scan comes back', async () => {
    const links = Array.from({ length: 30 }, randomLink);
    // Each pass at once, so the second comes well within the misses' short lifetime even on a busy machine.
    const scan = () => Promise.all(links.map(async (link) => (await api('GET', `/api/meetings/${link}`)).body.error.code));
    const before = postgresConnectionsOpened();
    expect(new Set(await scan())).toEqual(new Set(['MEETING_NOT_FOUND']));
    expect(postgresConnectionsOpened() - before).toBeLessThanOrEqual(links.length);

    const again = postgresConnectionsOpened();
    expect(new Set(await scan())).toEqual(new Set(['MEETING_NOT_FOUND']));
    expect(postgresConnectionsOpened() - again).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { RequestThrottle, TokenBucket } from '../signaling/request-throttle.js';

describe('request throttle (token bucket per participant)', () => {
  it('allows the burst, then the refill rate', () => {
    let now = 0;
    const bucket = new TokenBucket({ burst: 3, perSecond: 2 }, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    now = 400; // 0.8 of a request
    expect(bucket.take()).toBe(false);
    now = 500; // 1 request
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
    now = 60_000; // never above the burst
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
  });

  it('keeps one bucket per meeting and participant, and forgets only full ones', () => {
    let now = 0;
    const throttle = new RequestThrottle({ burst: 2, perSecond: 1 }, () => now, 1_000);
    const drained = throttle.bucketFor('m', 'a');
    drained.take();
    drained.take();
    expect(throttle.bucketFor('m', 'a')).toBe(drained);
    expect(throttle.bucketFor('m', 'b')).not.toBe(drained);
    expect(throttle.bucketFor('other', 'a')).not.toBe(drained);
    now = 1_000; // 'a' refilled one of two: kept; the untouched ones are full: forgotten
    expect(throttle.bucketFor('m', 'a')).toBe(drained);
    expect(throttle.size).toBe(1);
  });
});

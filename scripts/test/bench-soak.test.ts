import { describe, expect, it } from 'vitest';
import { runSoak } from '../bench/soak-run.js';

describe('soak harness', () => {
  it('soak: reports a participant left connected as objects left, and zero once it leaves', async () => {
    const outcome = await runSoak({ minutes: 0.05, cohort: 2, roomSize: 2, stayMs: 1000, keepOne: true });
    try {
      expect(outcome.cycles).toBeGreaterThan(0);
      expect(outcome.kept).not.toBeNull();
      expect(outcome.objects.edgemeet_media_participants).toBe(1);
      expect(outcome.objects.edgemeet_media_producers).toBe(2);
      expect(outcome.objectsLeft).toBeGreaterThan(0);
      expect(Number.isFinite(outcome.rssGrowthPct)).toBe(true);
      expect(outcome.firstCycleRss).toBeGreaterThan(0);
      await outcome.kept!.close();
      const deadline = Date.now() + 20_000;
      let left = await outcome.node.objects();
      while (Object.values(left).some((n) => n > 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        left = await outcome.node.objects();
      }
      expect(left).toEqual({ edgemeet_media_rooms: 0, edgemeet_media_participants: 0, edgemeet_media_transports: 0, edgemeet_media_producers: 0, edgemeet_media_consumers: 0 });
    } finally {
      await outcome.node.stop();
    }
  });
});

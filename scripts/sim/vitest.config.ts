import { defineConfig } from 'vitest/config';

/** `npm run test:sim`: the capacity model and the peak-day simulation at a small scale (plain Node). */
export default defineConfig({
  test: {
    environment: 'node',
    include: ['scripts/test/sim-*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});

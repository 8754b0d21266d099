import { defineConfig } from 'vitest/config';

/**
 * `npm run test:scripts`: the dev stack and fleet tooling (some start a real local stack, so one
 * file at a time). The simulation's tests (sim-*.test.ts) have their own: npm run test:sim.
 */
export default defineConfig({
  test: {
    environment: 'node',
    include: ['scripts/test/**/*.test.ts'],
    exclude: ['scripts/test/sim-*.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});

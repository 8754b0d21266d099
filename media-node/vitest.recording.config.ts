import { defineConfig } from 'vitest/config';

/**
 * `npm run test:recording`: the recorder against a real mediasoup worker (binary from
 * scripts/build-mediasoup-worker.sh, via the media tests' global setup), real ffmpeg senders and
 * capture processes, and uploads through the edge's recordings route in workerd (Miniflare + R2).
 */
export default defineConfig({
  test: {
    environment: 'node',
    include: ['media-node/recording/test/**/*.test.ts'],
    globalSetup: ['media-node/test/global-setup.ts'],
    setupFiles: ['media-node/test/setup-worker-bin.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 900_000,
    teardownTimeout: 60_000,
  },
});

import type { Env as WorkerEnv } from '../env.js';

/** Values the global setup (edge/test/global-setup.ts) provides to the workers. */
declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    dbWsProxy: string;
    testControlUrl: string;
    mediaTokenPrivateJwk: string;
    mediaTokenPublicJwk: string;
  }
}

/** `env` from cloudflare:test: the Worker's Env plus test-only bindings (edge/vitest.config.ts). */
declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_CONTROL_URL: string;
      MEDIA_TOKEN_PUBLIC_JWK: string;
    }
  }
}

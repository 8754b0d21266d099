/**
 * Values the global setup (edge/test/global-setup.ts) provides to the tests: read them with
 * `inject('…')` from vitest. The Worker's own `Env` (edge/worker-configuration.d.ts) stays free
 * of test-only names; secrets the Worker reads come from edgeConfig(env).
 */
declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    dbWsProxy: string;
    testControlUrl: string;
    mediaTokenPrivateJwk: string;
    mediaTokenPublicJwk: string;
  }
}

export {};

import type { User } from '../../schema/wire/http.js';

/** Request-scoped values set by middleware (edge/auth/middleware.ts). */
export interface AppVariables {
  /** The signed-in user, when a valid session token came with the request. */
  user: User | undefined;
  /** The raw session token of that user (for logout). */
  sessionToken: string | undefined;
}

/** Hono environment of every edge sub-app: `new Hono<AppEnv>()`. */
export interface AppEnv {
  Bindings: Env;
  Variables: AppVariables;
}

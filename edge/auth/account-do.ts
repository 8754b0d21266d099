import { DurableObject } from 'cloudflare:workers';
import { userSchema, type User } from '../../schema/wire/http.js';
import { sha256Hex } from './encoding.js';
import { ACCOUNT_LOGIN_POLICY, FailureLog, type Reservation } from './rate-limit.js';
import { newSessionToken, SESSION_TTL_MS } from './session-token.js';

/** SQLite table of the per-account login failure window. */
const LOGIN_FAILURES_TABLE = 'login_failures';

/**
 * One per user (accountStub in edge/durable-objects.ts). Holds the user's sessions (SHA-256 of each token, never the
 * token), a snapshot of the public profile (so the edge can name a signed-in user without
 * Postgres) and the per-account login failure window. Strongly consistent: a logout is seen by
 * the very next request.
 */
export class AccountDO extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly loginFailures: FailureLog;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS profile (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL)`);
    this.loginFailures = new FailureLog(this.sql, LOGIN_FAILURES_TABLE);
  }

  /** Opens a session for `profile` (the user this object belongs to) and returns the token once. */
  async createSession(profile: User): Promise<{ token: string; expiresAt: number }> {
    this.saveProfile(profile);
    const now = Date.now();
    this.sql.exec(`DELETE FROM sessions WHERE expires_at <= ?`, now);
    const token = newSessionToken(profile.id);
    const expiresAt = now + SESSION_TTL_MS;
    this.sql.exec(`INSERT INTO sessions (token_hash, created_at, expires_at) VALUES (?, ?, ?)`, await sha256Hex(token), now, expiresAt);
    return { token, expiresAt };
  }

  /** The signed-in user for a live token, or null (unknown, revoked or expired). */
  async verifySession(token: string): Promise<User | null> {
    const hash = await sha256Hex(token);
    const row = this.sql.exec<{ expires_at: number }>(`SELECT expires_at FROM sessions WHERE token_hash = ?`, hash).toArray()[0];
    if (!row) return null;
    if (row.expires_at <= Date.now()) {
      this.sql.exec(`DELETE FROM sessions WHERE token_hash = ?`, hash);
      return null;
    }
    return this.loadProfile();
  }

  async revokeSession(token: string): Promise<boolean> {
    const cursor = this.sql.exec(`DELETE FROM sessions WHERE token_hash = ?`, await sha256Hex(token));
    return cursor.rowsWritten > 0;
  }

  async updateProfile(profile: User): Promise<void> {
    this.saveProfile(profile);
  }

  /**
   * A login attempt asks for a slot before its password is checked: refused (retryAfterMs > 0)
   * while the account's failure window is full, else counted as a failure at once — check and
   * count in one call, so parallel attempts cannot all get through. A right password clears it.
   */
  async reserveLoginAttempt(): Promise<Reservation> {
    return this.loginFailures.reserve(ACCOUNT_LOGIN_POLICY, Date.now());
  }

  async recordLoginSuccess(): Promise<void> {
    this.loginFailures.clear();
  }

  private saveProfile(profile: User): void {
    this.sql.exec(`INSERT INTO profile (id, json) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json`, JSON.stringify(profile));
  }

  private loadProfile(): User | null {
    const row = this.sql.exec<{ json: string }>(`SELECT json FROM profile WHERE id = 1`).toArray()[0];
    if (!row) return null;
    const parsed = userSchema.safeParse(JSON.parse(row.json));
    return parsed.success ? parsed.data : null;
  }
}

import { eq } from 'drizzle-orm';
import { users, type UserRow } from '../../schema/db/index.js';
import type { User } from '../../schema/wire/http.js';
import type { Db } from './client.js';

export function avatarUrlOf(row: Pick<UserRow, 'id' | 'avatarKey' | 'avatarUpdatedAt'>): string | null {
  if (!row.avatarKey) return null;
  return `/api/users/${row.id}/avatar?v=${row.avatarUpdatedAt?.getTime() ?? 0}`;
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    displayName: row.displayName,
    avatarUrl: avatarUrlOf(row),
    createdAt: row.createdAt.toISOString(),
  };
}

/** Inserts a user; null when the email is taken. */
export async function insertUser(db: Db, values: { email: string; displayName: string; passwordHash: string }): Promise<UserRow | null> {
  const [row] = await db.insert(users).values(values).onConflictDoNothing({ target: users.email }).returning();
  return row ?? null;
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.email, email)).limit(1);
  return row ?? null;
}

export async function setAvatar(db: Db, userId: string, avatarKey: string, at: Date): Promise<UserRow | null> {
  const [row] = await db.update(users).set({ avatarKey, avatarUpdatedAt: at, updatedAt: at }).where(eq(users.id, userId)).returning();
  return row ?? null;
}

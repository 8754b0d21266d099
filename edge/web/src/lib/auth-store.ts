import { userSchema, type User } from '../wire.js';
import { z } from 'zod';

/** The signed-in user's session, kept in localStorage (opaque bearer token from /api/auth/*). */
const STORAGE_KEY = 'edgemeet.session';
const storedSessionSchema = z.object({ token: z.string(), user: userSchema, expiresAt: z.string() });
export type StoredSession = z.infer<typeof storedSessionSchema>;

let current: StoredSession | null = load();

function load(): StoredSession | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const parsed = storedSessionSchema.safeParse(JSON.parse(raw));
    if (!parsed.success || Date.parse(parsed.data.expiresAt) < Date.now()) return null;
    return parsed.data;
  } catch {
    return null;
  }
}

export function session(): StoredSession | null {
  return current;
}

export function currentUser(): User | null {
  return current?.user ?? null;
}

export function saveSession(next: StoredSession): void {
  current = next;
  localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
}

export function clearSession(): void {
  current = null;
  localStorage.removeItem(STORAGE_KEY);
}

import { z } from 'zod';
import type { ClientLocation } from '../registry/region-choice.js';

/*
 * Where a participant joined from (request.cf, or the trusted local header), kept only while the
 * room may still have to choose their node later: someone waiting in the lobby (their node is
 * chosen when the host admits them) and someone on a part of the meeting (when that node goes,
 * they are placed again in their own region). The table is made by the first such participant,
 * so a meeting that needs neither keeps none.
 */

const storedLocationSchema = z.object({
  latitude: z.union([z.string(), z.number()]).nullish(),
  longitude: z.union([z.string(), z.number()]).nullish(),
  country: z.string().nullish(),
  continent: z.string().nullish(),
});

export class ParticipantLocations {
  /** Whether the table exists (null: not looked up since this object woke). */
  private exists: boolean | null = null;

  constructor(private readonly sql: SqlStorage) {}

  private hasTable(): boolean {
    this.exists ??= this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'participant_locations'").toArray().length > 0;
    return this.exists;
  }

  set(participantId: string, location: ClientLocation): void {
    const { latitude, longitude, country, continent } = location;
    if (latitude == null && longitude == null && country == null && continent == null) return;
    if (!this.hasTable()) {
      this.sql.exec('CREATE TABLE IF NOT EXISTS participant_locations (participant_id TEXT PRIMARY KEY, location TEXT NOT NULL)');
      this.exists = true;
    }
    this.sql.exec('INSERT OR REPLACE INTO participant_locations VALUES (?, ?)', participantId, JSON.stringify({ latitude, longitude, country, continent }));
  }

  /** Where they joined from; empty (the meeting's own region then) when not kept. */
  get(participantId: string): ClientLocation {
    if (!this.hasTable()) return {};
    const row = this.sql.exec<{ location: string }>('SELECT location FROM participant_locations WHERE participant_id = ?', participantId).toArray()[0];
    const parsed = row ? storedLocationSchema.safeParse(JSON.parse(row.location)) : null;
    return parsed?.success ? parsed.data : {};
  }

  delete(participantId: string): void {
    if (this.hasTable()) this.sql.exec('DELETE FROM participant_locations WHERE participant_id = ?', participantId);
  }

  clear(): void {
    if (this.hasTable()) this.sql.exec('DELETE FROM participant_locations');
  }
}

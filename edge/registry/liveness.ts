import { NODE_HEARTBEAT_INTERVAL_MS } from '../../schema/wire/node-control.js';

/**
 * An alarm firing this much after its scheduled time says the event loop (or the machine) was
 * starved: the nodes' heartbeats may be sitting unread in their sockets, so none can be judged.
 */
export const LATE_ALARM_SLACK_MS = NODE_HEARTBEAT_INTERVAL_MS;

/**
 * How long nodes get before a deferred verdict: one heartbeat interval for a live node to send
 * (and the RegionDO to read) a heartbeat, plus the slack a loaded machine adds to its timer.
 */
export const SILENCE_RECHECK_MS = NODE_HEARTBEAT_INTERVAL_MS + LATE_ALARM_SLACK_MS;

/**
 * With two or more live nodes, one of them is normally heard from every interval. Nothing heard
 * from any for longer says the registry was not listening (starved, restarted), not that they died.
 */
export const QUIET_REGISTRY_MS = 2 * NODE_HEARTBEAT_INTERVAL_MS;

export interface SilenceInput {
  now: number;
  /** When the alarm now running was meant to fire (null: unknown). */
  scheduledAt: number | null;
  /** A verdict deferred until then (null: none pending). */
  deferredUntil: number | null;
  /** Live nodes whose last heartbeat is older than the timeout. */
  silent: readonly string[];
  /** How many nodes are live (not written off). */
  live: number;
  /** The newest heartbeat from any live node (null: none). */
  latestHeard: number | null;
}

export type SilenceVerdict =
  | { kind: 'writeOff'; nodeIds: readonly string[] }
  /** Judge again at `until`; nobody is written off before then. */
  | { kind: 'defer'; until: number; why: 'late-alarm' | 'registry-quiet' | 'pending' };

/**
 * Which silent nodes to write off now. A node that stopped (SIGSTOP) is written off at once when
 * others are still heard from and the alarm is on time. When the alarm itself is late, or no live
 * node (of two or more) was heard from lately — all went quiet together —, the silence is more
 * likely the registry's (or the machine's) than the nodes': they get one more heartbeat interval,
 * and whoever is still silent then is written off. A deferral is never renewed, so a dead node is
 * not kept forever. (A crash needs none of this: its control socket closing writes it off at once.)
 */
export function judgeSilence({ now, scheduledAt, deferredUntil, silent, live, latestHeard }: SilenceInput): SilenceVerdict {
  if (deferredUntil !== null) return now >= deferredUntil ? { kind: 'writeOff', nodeIds: silent } : { kind: 'defer', until: deferredUntil, why: 'pending' };
  if (silent.length === 0) return { kind: 'writeOff', nodeIds: [] };
  if (scheduledAt !== null && now - scheduledAt > LATE_ALARM_SLACK_MS) return { kind: 'defer', until: now + SILENCE_RECHECK_MS, why: 'late-alarm' };
  if (live >= 2 && latestHeard !== null && now - latestHeard > QUIET_REGISTRY_MS) return { kind: 'defer', until: now + SILENCE_RECHECK_MS, why: 'registry-quiet' };
  return { kind: 'writeOff', nodeIds: silent };
}

/** The RegionDO's alarm bookkeeping (its storage): when the alarm is due, and a deferred verdict. */
export class AlarmLedger {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS liveness_alarm (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      scheduled_at INTEGER,
      deferred_until INTEGER
    )`);
    sql.exec('INSERT OR IGNORE INTO liveness_alarm (id, scheduled_at, deferred_until) VALUES (1, NULL, NULL)');
  }

  private row(): { scheduled_at: number | null; deferred_until: number | null } {
    return this.sql.exec<{ scheduled_at: number | null; deferred_until: number | null }>('SELECT scheduled_at, deferred_until FROM liveness_alarm WHERE id = 1').one();
  }

  scheduledAt(): number | null {
    return this.row().scheduled_at;
  }

  setScheduled(at: number | null): void {
    this.sql.exec('UPDATE liveness_alarm SET scheduled_at = ? WHERE id = 1', at);
  }

  deferredUntil(): number | null {
    return this.row().deferred_until;
  }

  setDeferred(until: number | null): void {
    this.sql.exec('UPDATE liveness_alarm SET deferred_until = ? WHERE id = 1', until);
  }
}

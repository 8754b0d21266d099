/**
 * Log events of the RegionDO's failover paths. They belong in EdgeLogEvents (edge/http/log.ts),
 * which this helper does not own; until they move there they join it by declaration merging, so
 * call sites are typed the same way.
 */
type Text = string;

declare module '../http/log.js' {
  interface EdgeLogEvents {
    /** Meetings left a live node (drain, overload), make-before-break. */
    'node.rooms_moved': { nodeId: Text; why: Text; rooms: number };
    /** A node came back holding meetings that moved meanwhile; it is told to close them. */
    'node.stale_meetings': { nodeId: Text; meetings: number };
  }
}

export {};

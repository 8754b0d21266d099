import type { MediaAssignment } from '../wire.js';

/**
 * Set to true on window before the page loads to send and receive media through the TURN relay
 * only, as a browser behind a firewall that lets nothing else through would (tests and support).
 */
const RELAY_ONLY_FLAG = '__edgemeetIceRelayOnly';

/** The ICE servers and policy for a media session's transports on this assignment. */
export function iceOptionsFor(assignment: MediaAssignment): { iceServers: RTCIceServer[]; iceTransportPolicy: RTCIceTransportPolicy } {
  const relayOnly = (window as unknown as Record<string, unknown>)[RELAY_ONLY_FLAG] === true;
  const iceServers = (assignment.iceServers ?? []).map(({ urls, username, credential }) => ({ urls, username, credential }));
  return { iceServers, iceTransportPolicy: relayOnly && iceServers.length > 0 ? 'relay' : 'all' };
}

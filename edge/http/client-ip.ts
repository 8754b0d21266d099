import type { Context } from 'hono';

/**
 * Who a per-address limit counts: the client's IPv4 address, or its IPv6 /64 — the smallest block
 * a network hands a subscriber, every address of which that one client may use, so keyed on the
 * full address each request could bring its own allowance. Cloudflare sets CF-Connecting-IP at
 * the edge; local runs without it share one bucket.
 */
export function clientIp(c: Context): string {
  return addressBlock(c.req.header('CF-Connecting-IP') ?? 'local');
}

/** An IPv6 address as its /64 (`2001:db8:1:2::/64`); anything else as it is. */
export function addressBlock(address: string): string {
  // IPv4, IPv4-mapped IPv6 (::ffff:192.0.2.1) and 'local' count per address.
  if (!address.includes(':') || address.includes('.')) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const front = head ? head.split(':') : [];
  const back = tail ? tail.split(':') : [];
  const groups = tail === undefined ? front : [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${groups.slice(0, 4).map((group) => Number.parseInt(group || '0', 16).toString(16)).join(':')}::/64`;
}

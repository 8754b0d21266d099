import { readFile } from 'node:fs/promises';

/** One UDP socket of this host as /proc/net/udp{,6} lists it. */
export interface UdpSocketRow {
  /** Local address as the kernel writes it: hex IP and port, e.g. 0100007F:9C40 for 127.0.0.1:40000. */
  local: string;
  inode: string;
  /** Datagrams dropped at its full receive buffer since it opened. */
  drops: number;
}

/** Every UDP socket the kernel lists (IPv4 and IPv6), with its drop count. */
export async function readUdpSockets(): Promise<UdpSocketRow[]> {
  const rows: UdpSocketRow[] = [];
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    const table = await readFile(file, 'utf8').catch(() => '');
    for (const line of table.split('\n').slice(1)) {
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
      const fields = line.trim().split(/\s+/);
      if (fields.length >= 13) rows.push({ local: fields[1]!, inode: fields[9]!, drops: Number(fields[12]) });
    }
  }
  return rows;
}

/** The kernel's form of 127.0.0.1:`port` in /proc/net/udp. */
export const loopbackLocal = (port: number) => `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;

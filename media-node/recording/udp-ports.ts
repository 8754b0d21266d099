import dgram from 'node:dgram';
import { existsSync, promises as fs } from 'node:fs';

/** Binds a UDP socket on 127.0.0.1:port (0 = any); resolves with it, or null if the port is taken. */
function bindUdp(port: number): Promise<dgram.Socket | null> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    socket.once('error', () => {
      socket.close();
      resolve(null);
    });
    socket.bind(port, '127.0.0.1', () => resolve(socket));
  });
}

/**
 * Where capture ffmpegs listen (loopback only). A pair is free when it is checked and ffmpeg binds
 * it a moment later (0.1 s idle, seconds on a loaded box). Ports the kernel hands out (its
 * ephemeral range, 32768–60999 by default) and mediasoup's own transports (10000–59999) would be
 * taken in between often enough to fail a capture's start ("bind failed: Address already in use",
 * seen in a Chromium recording): this range is above both, so only a process binding ports here on
 * purpose (another node on the same host) can take a pair, and pairs are handed out in turn from
 * a random point, so two such processes rarely even try the same one.
 */
export const CAPTURE_PORTS = { min: 61000, max: 65535 } as const;

const PAIRS = Math.floor((CAPTURE_PORTS.max - CAPTURE_PORTS.min + 1) / 2);
let nextPair = Math.floor(Math.random() * PAIRS);

/** A free (even RTP, odd RTCP) loopback port pair in CAPTURE_PORTS for ffmpeg to listen on. */
export async function freeUdpPortPair(): Promise<{ rtpPort: number; rtcpPort: number }> {
  for (let attempt = 0; attempt < PAIRS; attempt++) {
    const rtpPort = CAPTURE_PORTS.min + 2 * nextPair;
    nextPair = (nextPair + 1) % PAIRS;
    const a = await bindUdp(rtpPort);
    const b = a ? await bindUdp(rtpPort + 1) : null;
    await Promise.all([a, b].map((socket) => socket && new Promise<void>((resolve) => socket.close(() => resolve()))));
    if (a && b) return { rtpPort, rtcpPort: rtpPort + 1 };
  }
  throw new Error(`no free UDP port pair on 127.0.0.1 in ${CAPTURE_PORTS.min}–${CAPTURE_PORTS.max}`);
}

/** True once some process (ffmpeg) holds the UDP port: our own bind then fails. */
export async function isUdpPortBound(port: number): Promise<boolean> {
  const socket = await bindUdp(port);
  if (!socket) return true;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return false;
}

const HAS_PROC_NET = existsSync('/proc/self/net/udp');

/** The IPv4 UDP sockets process `pid` has bound (from /proc: its socket fds, /proc/net/udp); null once it has exited. */
export async function udpSocketsOf(pid: number): Promise<Array<{ address: string; port: number }> | null> {
  const fds = await fs.readdir(`/proc/${pid}/fd`).catch(() => null);
  if (!fds) return null;
  const links = await Promise.all(fds.map((fd) => fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  const owned = new Set(links.map((link) => /^socket:\[(\d+)\]$/.exec(link)?.[1]).filter((inode) => inode !== undefined));
  const rows = (await fs.readFile('/proc/net/udp', 'utf8')).split('\n').slice(1).map((line) => line.trim().split(/\s+/));
  return rows
    .filter((fields) => fields[9] !== undefined && owned.has(fields[9]))
    .map((fields) => {
      const [hexAddress = '', hexPort = ''] = fields[1]!.split(':');
      // Little-endian hex: 0100007F is 127.0.0.1.
      const address = (hexAddress.match(/../g) ?? []).reverse().map((byte) => Number.parseInt(byte, 16)).join('.');
      return { address, port: Number.parseInt(hexPort, 16) };
    });
}

/**
 * True once process `pid` (a capture ffmpeg) has bound every one of `ports`. Asking whether the
 * ports are merely taken is not enough: when one of them is taken by another process, ffmpeg binds
 * the other, fails on that one and exits, and a check of the port it held for that moment said
 * "listening" while it was dying. Without /proc (not Linux): whether every port is taken at all.
 */
export async function holdsUdpPorts(pid: number, ports: readonly number[]): Promise<boolean> {
  if (!HAS_PROC_NET) return (await Promise.all(ports.map(isUdpPortBound))).every(Boolean);
  const sockets = await udpSocketsOf(pid);
  return sockets !== null && ports.every((port) => sockets.some((socket) => socket.port === port));
}

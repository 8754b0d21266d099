import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { CAPTURE_PORTS, freeUdpPortPair, holdsUdpPorts, isUdpPortBound } from '../udp-ports.js';

const held: dgram.Socket[] = [];
/** Takes a loopback UDP port as another process would. */
const hold = (port: number) =>
  new Promise<void>((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve());
    held.push(socket);
  });
const nextPairAfter = (rtpPort: number) => (rtpPort + 2 + 1 > CAPTURE_PORTS.max ? CAPTURE_PORTS.min : rtpPort + 2);

afterEach(async () => {
  await Promise.all(held.splice(0).map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
});

/**
 * Capture ffmpegs' ports: checked free, bound by ffmpeg a moment later. A Chromium recording lost
 * a capture's start to "bind failed: Address already in use" when they came from the kernel's
 * ephemeral range, where mediasoup's transports and every bind(0) also take ports.
 */
describe('capture port pairs', () => {
  it('come from their own range, above the kernel\'s ephemeral ports and mediasoup\'s transport ports', async () => {
    const [, ephemeralMax] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/).map(Number);
    const mediasoupTransportMax = 59_999;
    for (let i = 0; i < 20; i++) {
      const { rtpPort, rtcpPort } = await freeUdpPortPair();
      expect(rtpPort % 2).toBe(0);
      expect(rtcpPort).toBe(rtpPort + 1);
      expect(rtpPort).toBeGreaterThan(Math.max(ephemeralMax!, mediasoupTransportMax));
      expect(rtcpPort).toBeLessThanOrEqual(CAPTURE_PORTS.max);
    }
  });

  it('are handed out in turn: pairs checked but not yet bound are not handed out again', async () => {
    const pairs = new Set<number>();
    for (let i = 0; i < 50; i++) pairs.add((await freeUdpPortPair()).rtpPort);
    expect(pairs.size).toBe(50);
  });

  it('skip a pair another process holds', async () => {
    const { rtpPort } = await freeUdpPortPair();
    const taken = nextPairAfter(rtpPort);
    await hold(taken + 1); // its RTCP port only
    expect(await isUdpPortBound(taken + 1)).toBe(true);
    const next = await freeUdpPortPair();
    expect(next.rtpPort).not.toBe(taken);
    expect(next.rtpPort).toBe(nextPairAfter(taken));
  });

  it('are held by a process only when that process bound them all, not when another took one', async () => {
    const { rtpPort, rtcpPort } = await freeUdpPortPair();
    // A child process binding just the RTP port of the pair, as a dying ffmpeg does for a moment.
    const child = spawn(process.execPath, ['-e', `require('node:dgram').createSocket('udp4').bind(${rtpPort}, '127.0.0.1', () => console.log('bound'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      expect(await holdsUdpPorts(child.pid!, [rtpPort])).toBe(true);
      expect(await holdsUdpPorts(child.pid!, [rtpPort, rtcpPort])).toBe(false);
      await hold(rtcpPort); // taken, but by this process, not the child
      expect(await holdsUdpPorts(child.pid!, [rtpPort, rtcpPort])).toBe(false);
      expect(await holdsUdpPorts(process.pid, [rtcpPort])).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((resolve) => child.once('exit', resolve));
    expect(await holdsUdpPorts(child.pid!, [rtpPort])).toBe(false);
  });
});

import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { executeCommand } from '../control/commands.js';
import { lowKernelUdpLimits } from '../workers/kernel-udp-limits.js';
import { newMeetingId, startTestNode, type TestNode } from './harness.js';
import { loopbackLocal, readUdpSockets } from './udp-socket-table.js';

/**
 * Every participant on a worker shares its WebRtcServer's one UDP socket. At the kernel's default
 * buffer (~208 KiB) that socket holds about 90 packets of 1,000 bytes: a worker descheduled for a
 * few ms on a busy box (the webinar bench's 800 viewers: 11–33 % loss, all of it dropped there)
 * loses everyone's packets. These tests stall a worker (SIGSTOP, as a starved core or a VM's
 * stolen time would) while datagrams arrive, and count what the kernel dropped at its sockets.
 */
const DATAGRAMS = 1_500;
/** A large media packet; the kernel charges ~2.3 KB of buffer for each on loopback. */
const DATAGRAM_BYTES = 1_000;

/** /proc/net/udp's drops column (datagrams dropped at a full receive buffer) of the socket bound to 127.0.0.1:`port`. */
async function dropsAt(port: number): Promise<number> {
  const socket = (await readUdpSockets()).find((row) => row.local === loopbackLocal(port));
  if (!socket) throw new Error(`no UDP socket on port ${port}`);
  return socket.drops;
}

/** Sends DATAGRAMS datagrams to `port` while `workerPid` is stopped; the datagrams dropped meanwhile. */
async function dropsWhileStalled(workerPid: number, port: number): Promise<number> {
  const sender = dgram.createSocket('udp4');
  const before = await dropsAt(port);
  // Never leave the worker stopped, even if this process is ended mid-stall.
  const resume = () => process.kill(workerPid, 'SIGCONT');
  process.once('exit', resume);
  process.kill(workerPid, 'SIGSTOP');
  try {
    const payload = Buffer.alloc(DATAGRAM_BYTES, 0x80); // not STUN, DTLS or a known SSRC: the worker reads and ignores it
    for (let sent = 0; sent < DATAGRAMS; sent++) await new Promise<void>((resolve, reject) => sender.send(payload, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
    return (await dropsAt(port)) - before;
  } finally {
    process.off('exit', resume);
    resume();
    sender.close();
  }
}

/** A room on the node (its first participant) and a cascade pipe of it: the pipe's UDP port. */
async function pipePort(node: TestNode): Promise<number> {
  const meetingId = newMeetingId();
  await node.peer(meetingId, undefined, { receive: false });
  const end = await executeCommand(
    { command: 'cascadeOpenPipe', meetingId, peerNodeId: 'peer-node' },
    { rooms: node.node.rooms, recording: undefined, drain: () => undefined, emitEvent: () => undefined },
  );
  if (end?.kind !== 'pipeEnd') throw new Error('cascadeOpenPipe answers a pipe end');
  return end.pipe.port;
}

describe("a worker's UDP sockets ride out a stall", () => {
  let node: TestNode | undefined;
  afterEach(async () => {
    await node?.stop();
    node = undefined;
  });

  it('a worker stopped while 1,500 packets arrive loses none of them, at its WebRtcServer socket or at a cascade pipe', async () => {
    node = await startTestNode(); // RTC_UDP_BUFFER_BYTES at its default
    const slot = node.node.pool.slots[0]!;
    const webRtcPort = slot.ports.find((port) => port.protocol === 'udp')!.port;
    // The kernel caps the buffer at net.core.rmem_max: scripts/setup.sh raises it (as a node's sysctl file does).
    const rmemMax = (await readFile('/proc/sys/net/core/rmem_max', 'utf8').catch(() => 'unreadable')).trim();
    expect(await dropsWhileStalled(slot.worker.pid, webRtcPort), `net.core.rmem_max is ${rmemMax}`).toBe(0);
    expect(await dropsWhileStalled(slot.worker.pid, await pipePort(node)), `net.core.rmem_max is ${rmemMax}`).toBe(0);
  });

  it('at the OS default buffer (RTC_UDP_BUFFER_BYTES=0) the same stall drops most of them', async () => {
    node = await startTestNode({ RTC_UDP_BUFFER_BYTES: '0' });
    const slot = node.node.pool.slots[0]!;
    const webRtcPort = slot.ports.find((port) => port.protocol === 'udp')!.port;
    const rmemDefault = (await readFile('/proc/sys/net/core/rmem_default', 'utf8').catch(() => 'unreadable')).trim();
    expect(await dropsWhileStalled(slot.worker.pid, webRtcPort), `net.core.rmem_default is ${rmemDefault}`).toBeGreaterThan(DATAGRAMS / 2);
    expect(await dropsWhileStalled(slot.worker.pid, await pipePort(node)), `net.core.rmem_default is ${rmemDefault}`).toBeGreaterThan(DATAGRAMS / 2);
  });
});

describe('the kernel caps a node checks at start', () => {
  it('names the caps below what the workers ask for, and none when they ask for the OS default', async () => {
    const rmemMax = Number(await readFile('/proc/sys/net/core/rmem_max', 'utf8'));
    expect(await lowKernelUdpLimits(2 ** 40)).toEqual([
      { name: 'net.core.rmem_max', bytes: rmemMax },
      { name: 'net.core.wmem_max', bytes: Number(await readFile('/proc/sys/net/core/wmem_max', 'utf8')) },
    ]);
    expect(await lowKernelUdpLimits(rmemMax)).not.toContainEqual(expect.objectContaining({ name: 'net.core.rmem_max' }));
    expect(await lowKernelUdpLimits(0)).toEqual([]);
  });
});

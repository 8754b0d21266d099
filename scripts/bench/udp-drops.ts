import { readdir, readlink } from 'node:fs/promises';
import { readUdpSockets } from '../../media-node/test/udp-socket-table.js';

/**
 * Datagrams the kernel dropped because a socket's receive buffer was full, per process: the
 * `drops` column of /proc/net/udp (cumulative per socket), summed over the sockets each process
 * holds. A benchmark reads it before and after its window to tell where packets were lost: at a
 * node's worker, at the receivers, or nowhere in the kernel (then on the way, or never sent).
 */
export async function udpDropsByPid(pids: readonly number[]): Promise<Map<number, number>> {
  const dropsByInode = new Map((await readUdpSockets()).map((socket) => [socket.inode, socket.drops]));
  const byPid = new Map<number, number>();
  for (const pid of pids) {
    let drops = 0;
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode !== undefined) drops += dropsByInode.get(inode) ?? 0;
    }
    byPid.set(pid, drops);
  }
  return byPid;
}

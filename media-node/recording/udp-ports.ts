import dgram from 'node:dgram';

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
 * A free (even RTP, odd RTCP) loopback port pair for ffmpeg to listen on. Free at the time of the
 * check; ffmpeg binds it a few ms later (a race with other processes is possible but rare, and a
 * failed bind shows up as an ffmpeg exit that the capture restarts on a new pair).
 */
export async function freeUdpPortPair(): Promise<{ rtpPort: number; rtcpPort: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = await bindUdp(0);
    if (!probe) continue;
    const port = probe.address().port;
    probe.close();
    const rtpPort = port % 2 === 0 ? port : port - 1;
    if (rtpPort < 1024) continue;
    const a = await bindUdp(rtpPort);
    const b = a ? await bindUdp(rtpPort + 1) : null;
    a?.close();
    b?.close();
    if (a && b) return { rtpPort, rtcpPort: rtpPort + 1 };
  }
  throw new Error('no free UDP port pair on 127.0.0.1');
}

/** True once some process (ffmpeg) holds the UDP port: our own bind then fails. */
export async function isUdpPortBound(port: number): Promise<boolean> {
  const socket = await bindUdp(port);
  if (!socket) return true;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return false;
}

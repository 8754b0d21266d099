import { createSocket, type Socket } from 'node:dgram';

/*
 * A minimal STUN binding responder on 127.0.0.1. werift always queries a STUN server while
 * gathering and waits up to 5 s when none answers; pointing it here keeps gathering on loopback
 * and makes it finish at once.
 */
const MAGIC_COOKIE = 0x2112a442;
let started: Promise<number> | undefined;

export function loopbackStunPort(): Promise<number> {
  started ??= new Promise<number>((resolve, reject) => {
    const socket: Socket = createSocket('udp4');
    socket.on('message', (request, remote) => {
      // Binding request: type 0x0001, magic cookie at offset 4.
      if (request.length < 20 || request.readUInt16BE(0) !== 0x0001 || request.readUInt32BE(4) !== MAGIC_COOKIE) return;
      const response = Buffer.alloc(32);
      response.writeUInt16BE(0x0101, 0); // binding success
      response.writeUInt16BE(12, 2); // one 12-byte attribute
      request.copy(response, 4, 4, 20); // cookie + transaction id
      response.writeUInt16BE(0x0020, 20); // XOR-MAPPED-ADDRESS
      response.writeUInt16BE(8, 22);
      response.writeUInt8(0, 24);
      response.writeUInt8(0x01, 25); // IPv4
      response.writeUInt16BE(remote.port ^ (MAGIC_COOKIE >>> 16), 26);
      const ip = remote.address.split('.').reduce((value, part) => (value << 8) + Number(part), 0) >>> 0;
      response.writeUInt32BE((ip ^ MAGIC_COOKIE) >>> 0, 28);
      socket.send(response, remote.port, remote.address);
    });
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.unref();
      resolve(socket.address().port);
    });
  });
  return started;
}

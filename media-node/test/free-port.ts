import { createServer } from 'node:net';

/** A loopback TCP port nothing listens on right now (for an edge that is not up yet, or comes later). */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

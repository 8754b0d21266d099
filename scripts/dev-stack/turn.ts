import { existsSync } from 'node:fs';
import net from 'node:net';
import { freePort } from './ports.js';
import { spawnChild, waitUntil } from './processes.js';

/** Where Debian's coturn package puts the TURN server. */
const TURNSERVER_BIN = '/usr/bin/turnserver';

export interface TurnRelay {
  /** For TURN_URLS: UDP and TCP on the same port. */
  urls: string[];
  stop(): Promise<void>;
}

/**
 * A local coturn for browsers told to relay everything (iceTransportPolicy 'relay'), checking the
 * edge's time-limited credentials with the shared secret (`use-auth-secret`). Loopback only; peers
 * on loopback are allowed because the media nodes listen there. Null when coturn is not installed
 * (scripts/setup.sh installs it): browsers then connect to the nodes directly.
 */
export async function startTurnRelay(options: {
  secret: string;
  logDir: string;
  env: NodeJS.ProcessEnv;
  echo: boolean;
  say: (line: string) => void;
  signal?: AbortSignal;
}): Promise<TurnRelay | null> {
  if (!existsSync(TURNSERVER_BIN)) {
    options.say('TURN: coturn is not installed (scripts/setup.sh installs it); browsers connect to the media nodes directly');
    return null;
  }
  const port = await freePort();
  // Relay ports: a block of 100 picked from the upper range, away from the nodes' own free ports.
  const minPort = 50_000 + Math.floor(Math.random() * 150) * 100;
  const child = spawnChild({
    name: 'turn',
    command: TURNSERVER_BIN,
    args: [
      '-n', // no configuration file: everything is on this command line
      `--listening-ip=127.0.0.1`,
      `--relay-ip=127.0.0.1`,
      `--listening-port=${port}`,
      `--min-port=${minPort}`,
      `--max-port=${minPort + 99}`,
      '--use-auth-secret',
      `--static-auth-secret=${options.secret}`,
      '--realm=edgemeet.local',
      '--fingerprint',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--no-multicast-peers',
      '--allow-loopback-peers',
      '--log-file=stdout',
      '--simple-log',
    ],
    cwd: options.logDir,
    env: options.env,
    logDir: options.logDir,
    echo: options.echo,
  });
  try {
    await waitUntil('turn', () => acceptsTcp(port), { timeoutMs: 20_000, child, signal: options.signal });
  } catch (error) {
    await child.stop();
    throw error;
  }
  options.say(`TURN: coturn relaying on 127.0.0.1:${port} (udp+tcp)`);
  return {
    urls: [`turn:127.0.0.1:${port}?transport=udp`, `turn:127.0.0.1:${port}?transport=tcp`],
    stop: async () => {
      options.say('TURN: stopping');
      await child.stop();
    },
  };
}

function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

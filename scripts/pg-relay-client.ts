import { Client } from '@neondatabase/serverless';
import WebSocket from 'ws';

/**
 * A Neon driver client that reaches a local Postgres through scripts/pg-relay.ts, as the Worker
 * does in local runs — for tools that write history the way production does. Not yet connected.
 */
export function relayedNeonClient(connectionString: string, relayPort: number): Client {
  const client = new Client({ connectionString });
  // Node 20 has no global WebSocket; the Worker's runtime does.
  client.neonConfig.webSocketConstructor = WebSocket as unknown as typeof globalThis.WebSocket;
  client.neonConfig.wsProxy = (host, port) => `127.0.0.1:${relayPort}/v1?address=${host}:${port}`;
  client.neonConfig.useSecureWebSocket = false;
  client.neonConfig.pipelineTLS = false;
  client.neonConfig.pipelineConnect = false;
  return client;
}

import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { nodeUpMessageSchema, type NodeCommand, type NodeUpMessage } from '../../schema/wire/index.js';

/** The node credential the edge expects: `<nodeId>.<base64url(HMAC-SHA256(secret, nodeId))>`. */
export function nodeCredential(secret: string, nodeId: string): string {
  return `${nodeId}.${createHmac('sha256', secret).update(nodeId).digest('base64url')}`;
}

/**
 * Plays the edge's registry endpoint in tests: accepts the node's control socket at
 * /api/nodes/connect only with the right credential, records what the node sends (parsed with
 * the wire schema) and sends commands.
 */
export class FakeEdge {
  readonly received: NodeUpMessage[] = [];
  readonly refusedAttempts: string[] = [];
  connections = 0;
  private socket: WebSocket | undefined;
  private nextCommand = 1;

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
  ) {}

  static async start(options: { credential: string; heartbeatIntervalMs?: number }): Promise<FakeEdge> {
    const server = createServer((_request, response) => response.writeHead(404).end());
    const wss = new WebSocketServer({ noServer: true });
    const edge = new FakeEdge(server, wss);
    server.on('upgrade', (request, socket, head) => {
      const url = new URL(request.url ?? '/', 'http://edge.invalid');
      const authorization = request.headers.authorization ?? '';
      if (url.pathname !== '/api/nodes/connect' || url.searchParams.get('region') === null || authorization !== `Bearer ${options.credential}`) {
        edge.refusedAttempts.push(authorization);
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        edge.connections++;
        edge.socket = ws;
        ws.send(JSON.stringify({ type: 'welcome', heartbeatIntervalMs: options.heartbeatIntervalMs ?? 2_000 }));
        ws.on('message', (raw) => {
          const message = nodeUpMessageSchema.parse(JSON.parse(raw.toString()));
          edge.received.push(message);
          // As the registry does once the room has it: the node may forget the status.
          if (message.type === 'event' && message.event.event === 'recordingStatus') {
            const { recordingId, status, statusId } = message.event;
            ws.send(JSON.stringify({ type: 'recordingStatusReceived', recordingId, status, statusId }));
          }
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return edge;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Sends a command and waits for its commandResult. */
  async command(command: NodeCommand, timeoutMs = 15_000): Promise<Extract<NodeUpMessage, { type: 'commandResult' }>> {
    const commandId = `cmd-${this.nextCommand++}`;
    if (!this.socket) throw new Error('node not connected');
    this.socket.send(JSON.stringify({ type: 'command', commandId, command }));
    let result: Extract<NodeUpMessage, { type: 'commandResult' }> | undefined;
    await this.waitFor(() => (result = this.results().find((message) => message.commandId === commandId)) !== undefined, timeoutMs, `result of ${commandId}`);
    if (!result) throw new Error('no result');
    return result;
  }

  results(): Extract<NodeUpMessage, { type: 'commandResult' }>[] {
    return this.received.filter((message): message is Extract<NodeUpMessage, { type: 'commandResult' }> => message.type === 'commandResult');
  }

  heartbeats(): Extract<NodeUpMessage, { type: 'heartbeat' }>[] {
    return this.received.filter((message): message is Extract<NodeUpMessage, { type: 'heartbeat' }> => message.type === 'heartbeat');
  }

  events(): Extract<NodeUpMessage, { type: 'event' }>['event'][] {
    return this.received.flatMap((message) => (message.type === 'event' ? [message.event] : []));
  }

  hellos(): Extract<NodeUpMessage, { type: 'hello' }>[] {
    return this.received.filter((message): message is Extract<NodeUpMessage, { type: 'hello' }> => message.type === 'hello');
  }

  /** Drops the node's socket (the edge restarting); the node should reconnect. */
  dropConnection(): void {
    this.socket?.terminate();
    this.socket = undefined;
  }

  async waitFor(predicate: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`fake edge: timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

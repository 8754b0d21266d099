/**
 * A CPU profile of the Worker's isolate in Miniflare (workerd's inspector, Chrome DevTools
 * protocol): started before a load, stopped after, summarised as self time per function.
 */
import WebSocket from 'ws';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface WorkerdProfiler {
  stop(): Promise<{ name: string; selfPct: number }[]>;
}

export async function startWorkerdProfile(inspectorPort: number): Promise<WorkerdProfiler> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const target = targets[0];
  if (!target) throw new Error('workerd inspector lists no target');
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  ws.on('message', (raw) => {
    const message = JSON.parse(raw.toString()) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call('Profiler.enable');
  await call('Profiler.setSamplingInterval', { interval: 200 });
  await call('Profiler.start');
  return {
    async stop() {
      const { profile } = (await call('Profiler.stop')) as { profile: { nodes: ProfileNode[] } };
      ws.close();
      const byName = new Map<string, number>();
      let total = 0;
      for (const node of profile.nodes) {
        const hits = node.hitCount ?? 0;
        total += hits;
        const frame = node.callFrame;
        const name = `${frame.functionName || '(anonymous)'} ${frame.url ? `${frame.url.split('/').pop()}:${frame.lineNumber + 1}` : ''}`.trim();
        byName.set(name, (byName.get(name) ?? 0) + hits);
      }
      return [...byName.entries()].map(([name, hits]) => ({ name, selfPct: (hits / Math.max(total, 1)) * 100 })).sort((a, b) => b.selfPct - a.selfPct);
    },
  };
}

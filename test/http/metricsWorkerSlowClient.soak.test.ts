/**
 * A client that never reads, against the metrics worker thread: it holds a bounded buffer in
 * the thread and is cut off after the idle timeout, while other scrapes are answered. A soak
 * (`npm run test:soak`): a 5-MB body rendered from 100,000 series, and the idle timeout waited
 * out, take about 16 s.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { FromMetricsWorker } from '../../src/http/metricsWorker.js';
import { startHttpServer, type MonitorServer } from '../../src/http/server.js';
import { createMetrics, type MonitorMetrics } from '../../src/metrics/definitions.js';

const OPENMETRICS = 'application/openmetrics-text; version=1.0.0';
let server: MonitorServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/**
 * `series` series with random event names, which gzip cannot shrink much: a gzip body larger
 * than what loopback's socket buffers take (about 4 MB), so that a client that never reads
 * stalls the worker's writes.
 */
function incompressible(series: number): MonitorMetrics {
  const metrics = createMetrics('0.0.0');
  for (let i = 0; i < series; i++) {
    const name = `ON${randomBytes(48).toString('base64url')}`;
    metrics.events.set({ portal: 'p', event_name: name, status: 'queued' }, i);
  }
  metrics.events.set({ portal: 'p', event_name: 'ONLAST', status: 'queued' }, 42);
  return metrics;
}

/** The worker's connections: bytes written to each, and those still waiting in the thread. */
async function workerSockets(monitor: MonitorServer) {
  const worker = monitor.worker()!;
  const answer = new Promise<FromMetricsWorker & { kind: 'sockets' }>((resolve) => {
    const take = (message: FromMetricsWorker) => {
      if (message.kind !== 'sockets') return;
      worker.off('message', take);
      resolve(message);
    };
    worker.on('message', take);
  });
  worker.postMessage({ kind: 'sockets' });
  return (await answer).sockets;
}

describe('a client that never reads, against the worker thread', () => {
  it(
    'holds a bounded buffer in the thread, is cut off after the idle timeout, and other scrapes are answered meanwhile',
    { timeout: 90_000 },
    async () => {
      server = await startHttpServer({
        ...{ host: '127.0.0.1', port: 0, pollers: [], logger: pino({ level: 'silent' }) },
        ...{ metrics: incompressible(100_000), version: '0.0.0', limits: { idleTimeoutMs: 6_000 } },
      });
      const monitor = server;
      let reachedMainThread = 0;
      monitor.server.on('connection', () => reachedMainThread++);
      const headers = { accept: OPENMETRICS, 'accept-encoding': 'gzip' };
      const { port } = new URL(monitor.url);
      // the first may find no body yet (the main thread answers); from then on the worker does
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const first = await fetch(`${monitor.url}/metrics`, { headers });
      const size = Number(first.headers.get('content-length'));
      // read to the end: a body left unread would be one more stalled answer
      await first.arrayBuffer();
      const clients: Socket[] = [];
      for (let i = 0; i < 5; i++) {
        const socket = connect(Number(port), '127.0.0.1');
        socket.on('error', () => undefined);
        await once(socket, 'connect');
        socket.pause();
        socket.write(
          `GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: ${OPENMETRICS}\r\nAccept-Encoding: gzip\r\n\r\n`,
        );
        clients.push(socket);
      }
      // until every answer is under way and stalled: the thread holds part of it
      const answering = async () =>
        (await workerSockets(monitor)).filter((s) => s.bytesWritten > 100_000);
      for (let waited = 0; waited < 20_000; waited += 100) {
        const now = await answering();
        if (now.length === 5 && now.every((s) => s.writableLength > 0)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      const stalled = await answering();
      const before = reachedMainThread;
      const answer = await fetch(`${monitor.url}/metrics`, { headers });
      const other = { status: answer.status, text: await answer.text() };
      const byOthers = reachedMainThread - before;
      // the idle timeout ends them: the thread holds nothing for them any more
      for (let waited = 0; (await answering()).length > 0 && waited < 15_000; waited += 100)
        await new Promise((resolve) => setTimeout(resolve, 100));
      const left = await answering();
      const received = await Promise.all(
        clients.map(async (socket) => {
          let bytes = 0;
          socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
          socket.resume();
          await once(socket, 'close');
          return bytes;
        }),
      );

      expect(size).toBeGreaterThan(4_500_000);
      expect(stalled).toHaveLength(5);
      for (const socket of stalled) {
        expect(socket.bytesWritten).toBeLessThan(size);
        expect(socket.writableLength).toBeLessThan(512 * 1024);
      }
      expect(other.status).toBe(200);
      expect(other.text).toContain('event_name="ONLAST",status="queued"} 42');
      expect(byOthers).toBe(0);
      expect(left).toEqual([]);
      // each was cut off: what it gets once it reads is what the kernel held, not the answer
      for (const bytes of received) expect(bytes).toBeLessThan(size);
    },
  );
});

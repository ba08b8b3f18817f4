/**
 * The HTTP server against clients it does not control: idle sockets are closed, the number of
 * connections is capped, a client that never reads holds a bounded buffer, and /metrics is
 * gzip-compressed when asked (with Vary), decoding to the same exposition.
 */
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer, type HttpLimits, type MonitorServer } from '../../src/http/server.js';
import { createMetrics, type MonitorMetrics } from '../../src/metrics/definitions.js';

const silent = pino({ level: 'silent' });
let server: MonitorServer | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.close();
  server = undefined;
});

/** A monitor's registry with `series` event series (about 100 bytes each). */
function metricsWith(series: number): MonitorMetrics {
  const metrics = createMetrics('0.0.0');
  for (let i = 0; i < series; i++) {
    metrics.events.set({ portal: 'p', event_name: `ONEVENT${i}`, status: 'queued' }, i);
  }
  return metrics;
}

async function start(metrics: MonitorMetrics, limits: Partial<HttpLimits> = {}) {
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    metrics,
    pollers: [],
    logger: silent,
    version: '0.0.0',
    limits,
  });
  return server;
}

function open(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  sockets.push(socket);
  socket.on('error', () => undefined);
  return once(socket, 'connect').then(() => socket);
}

function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ response: IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/metrics`, { headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ response, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('idle connections', () => {
  it('a socket that sends nothing is closed after the idle timeout', async () => {
    const { url } = await start(metricsWith(1), { idleTimeoutMs: 300 });
    const idle = await Promise.all(Array.from({ length: 20 }, () => open(url)));

    const closed = await Promise.all(idle.map((s) => once(s, 'close').then(() => true)));

    expect(closed).toHaveLength(20);
    expect((await get(url)).response.statusCode).toBe(200);
  });

  it('a keep-alive connection left idle after a scrape is closed', async () => {
    const { url } = await start(metricsWith(1), { idleTimeoutMs: 300 });
    const socket = await open(url);
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    const [first] = (await once(socket, 'data')) as [Buffer];

    await once(socket, 'close');

    expect(first.toString()).toMatch(/^HTTP\/1\.1 200/);
  });

  it('connections past the cap are refused while the others stay open', async () => {
    const { url } = await start(metricsWith(1), { maxConnections: 5, idleTimeoutMs: 10_000 });
    const all = await Promise.all(Array.from({ length: 10 }, () => open(url)));
    await new Promise((r) => setTimeout(r, 300));

    const stillOpen = all.filter((s) => !s.destroyed && s.readyState === 'open');

    expect(stillOpen).toHaveLength(5);
  });
});

describe('/metrics', () => {
  it('is gzip-compressed when asked, with Vary, and decodes to the same exposition', async () => {
    const { url } = await start(metricsWith(5_000));

    const plain = await get(url);
    const gzipped = await get(url, { 'accept-encoding': 'gzip' });
    const refused = await get(url, { 'accept-encoding': 'gzip;q=0, identity' });

    expect(plain.response.headers['content-encoding']).toBeUndefined();
    expect(plain.response.headers['vary']).toBe('Accept-Encoding');
    expect(gzipped.response.headers['content-encoding']).toBe('gzip');
    expect(gzipped.response.headers['vary']).toBe('Accept-Encoding');
    expect(gzipped.body.length).toBeLessThan(plain.body.length / 4);
    expect(gunzipSync(gzipped.body).toString('utf8')).toBe(plain.body.toString('utf8'));
    expect(refused.response.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString('utf8')).toContain('event_name="ONEVENT4999"');
  });

  it(
    'a client that asks for a large exposition and never reads holds a bounded buffer',
    { timeout: 60_000 },
    async () => {
      const monitor = await start(metricsWith(60_000));
      const serverSockets: Socket[] = [];
      monitor.server.on('connection', (s: Socket) => serverSockets.push(s));
      const size = (await get(monitor.url)).body.length;
      const readers = await Promise.all(Array.from({ length: 5 }, () => open(monitor.url)));
      for (const socket of readers) {
        socket.pause();
        socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
      }
      // until every answer is under way and the clients' receive windows are full
      const stalled = () => serverSockets.slice(1).filter((s) => s.bytesWritten > 0);
      for (let waited = 0; stalled().length < 5 && waited < 20_000; waited += 100) {
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 1000));

      const buffered = serverSockets.slice(1).map((s) => s.writableLength);

      expect(size).toBeGreaterThan(4_000_000);
      expect(buffered).toHaveLength(5);
      for (const bytes of buffered) expect(bytes).toBeLessThan(512 * 1024);
    },
  );
});

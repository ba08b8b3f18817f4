/**
 * Soak: 500 connections that open and send nothing sit on the server (a port scanner, a
 * misconfigured client) while Prometheus-like scrapes go on; then the idle timeout closes
 * every one of them.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startHttpServer, type MonitorServer } from '../../src/http/server.js';
import { createMetrics } from '../../src/metrics/definitions.js';

const IDLE = 500;
const sockets: Socket[] = [];
let server: MonitorServer | undefined;

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await server?.close();
});

describe('500 idle sockets', () => {
  it('scrapes are served while they are open, and every one is closed after the idle timeout', async () => {
    const metrics = createMetrics('0.0.0');
    for (let i = 0; i < 1000; i++) {
      metrics.events.set({ portal: 'p', event_name: `ONEVENT${i}`, status: 'queued' }, i);
    }
    const idleTimeoutMs = 8_000;
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics,
      pollers: [],
      logger: pino({ level: 'silent' }),
      version: '0.0.0',
      // the default cap (512) with room for the scrapes; a short idle timeout for the test
      limits: { idleTimeoutMs },
    });
    const { port } = new URL(server.url);
    const closedAt: number[] = [];
    const openedAt = Date.now();
    for (let i = 0; i < IDLE; i++) {
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('close', () => closedAt.push(Date.now() - openedAt));
      sockets.push(socket);
    }
    await Promise.all(sockets.map((s) => once(s, 'connect')));

    const scrapes: { status: number; ok: boolean }[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`${server.url}/metrics`, {
        headers: { 'accept-encoding': 'gzip' },
      });
      const body = await response.text(); // fetch decodes gzip itself
      scrapes.push({ status: response.status, ok: body.includes('event_name="ONEVENT999"') });
    }
    const openDuringScrapes = sockets.filter((s) => !s.destroyed).length;

    await Promise.all(sockets.map((s) => (s.destroyed ? null : once(s, 'close'))));

    process.stdout.write(
      `[soak] ${IDLE} idle sockets: ${openDuringScrapes} open during ${scrapes.length} scrapes ` +
        `(all 200: ${scrapes.every((s) => s.status === 200 && s.ok)}); all closed by the server ` +
        `within ${Math.max(...closedAt)} ms (idle timeout ${idleTimeoutMs} ms)\n`,
    );
    expect(openDuringScrapes).toBe(IDLE);
    expect(scrapes.every((s) => s.status === 200 && s.ok)).toBe(true);
    expect(closedAt).toHaveLength(IDLE);
    expect(Math.min(...closedAt)).toBeGreaterThanOrEqual(idleTimeoutMs - 1000);
  });
});

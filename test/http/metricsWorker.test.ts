/**
 * The public socket belongs to a worker thread (src/http/metricsWorker.ts): a scrape of a large
 * exposition is answered while the main thread is blocked, with the body the main thread
 * rendered; credentials still apply; a listen error reads as before; the thread ends with the
 * server; a client that never reads holds a bounded buffer in the thread and is cut off after
 * the idle timeout. Restarts of the thread: metricsWorkerRestart.test.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpAuthConfig } from '../../src/config/types.js';
import { startHttpServer, type HttpLimits, type MonitorServer } from '../../src/http/server.js';
import type { MonitorMetrics } from '../../src/metrics/definitions.js';
import { metricsWith } from '../helpers/largeMetrics.js';

const silent = pino({ level: 'silent' });
const OPENMETRICS = 'application/openmetrics-text; version=1.0.0';
let server: MonitorServer | undefined;
let dir: string | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function start(
  metrics: MonitorMetrics,
  auth?: HttpAuthConfig,
  port = 0,
  limits?: Partial<HttpLimits>,
) {
  server = await startHttpServer({
    host: '127.0.0.1',
    port,
    metrics,
    pollers: [],
    logger: silent,
    version: '0.0.0',
    auth,
    limits,
  });
  return server;
}

async function scrape(url: string, headers: Record<string, string>) {
  const response = await fetch(`${url}/metrics`, { headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/**
 * A client in a process of its own: once `go` exists in `dir`, it sends one gzip OpenMetrics
 * scrape per entry of `authorizations` at once and writes each answer to `answer-<i>.json`.
 */
const CLIENT = `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const [url, dir, authorizations] = process.argv.slice(1);
const wait = setInterval(() => {
  if (!fs.existsSync(path.join(dir, 'go'))) return;
  clearInterval(wait);
  JSON.parse(authorizations).forEach((authorization, i) => {
    const headers = { accept: '${OPENMETRICS}', 'accept-encoding': 'gzip' };
    if (authorization !== '') headers.authorization = authorization;
    http.get(url + '/metrics', { headers, agent: false }, (response) => {
      const chunks = [];
      response.on('data', (c) => chunks.push(c));
      response.on('end', () => {
        const answer = { status: response.statusCode, encoding: response.headers['content-encoding'] ?? null,
          body: Buffer.concat(chunks).toString('base64') };
        fs.writeFileSync(path.join(dir, 'answer-' + i + '.tmp'), JSON.stringify(answer));
        fs.renameSync(path.join(dir, 'answer-' + i + '.tmp'), path.join(dir, 'answer-' + i + '.json'));
      });
    });
  });
}, 2);
process.stdout.write('ready\\n');
`;

interface Answer {
  status: number;
  encoding: string | null;
  body: string;
}

/**
 * Starts the client, then blocks this thread (the server's main thread) until the first
 * answer arrives (at most 10 s): which answers had arrived by then, and all of them after.
 */
async function scrapeWhileBlocked(url: string, authorizations: string[]) {
  dir = mkdtempSync(join(tmpdir(), 'b24-metrics-worker-'));
  const client = spawn(process.execPath, ['-e', CLIENT, url, dir, JSON.stringify(authorizations)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => client.stdout.once('data', () => resolve()));
  const answerFile = (i: number) => join(dir!, `answer-${i}.json`);
  const arrived = (i: number) => existsSync(answerFile(i));

  writeFileSync(join(dir, 'go'), '');
  const blockedAt = Date.now();
  // A busy loop: no timer, no I/O callback, no message runs on this thread meanwhile.
  while (!arrived(0) && Date.now() - blockedAt < 10_000);
  const blockedMs = Date.now() - blockedAt;
  const duringBlock = authorizations.map((_, i) => arrived(i));

  while (!authorizations.every((_, i) => arrived(i)))
    await new Promise((resolve) => setTimeout(resolve, 20));
  client.kill();
  const answers = authorizations.map(
    (_, i) => JSON.parse(readFileSync(answerFile(i), 'utf8')) as Answer,
  );
  return { blockedMs, duringBlock, answers };
}

/** Waits for the background render the server starts for OpenMetrics + gzip (every 1 s). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 2_500));

describe('/metrics answered by the worker thread', () => {
  it(
    'a scrape of a large exposition is answered while the main thread is blocked, with the body it rendered',
    { timeout: 60_000 },
    async () => {
      const metrics = metricsWith(20_000);
      const { url } = await start(metrics);
      await settle();

      const { blockedMs, duringBlock, answers } = await scrapeWhileBlocked(url, ['']);
      const [answer] = answers;
      // what the main thread renders for the same registry, asked for without gzip
      const rendered = await scrape(url, { accept: OPENMETRICS });

      expect(duringBlock).toEqual([true]);
      expect(blockedMs).toBeLessThan(10_000);
      expect(answer!.status).toBe(200);
      expect(answer!.encoding).toBe('gzip');
      const text = gunzipSync(Buffer.from(answer!.body, 'base64')).toString('utf8');
      expect(text.length).toBeGreaterThan(1_000_000);
      expect(text).toContain(
        'b24_offline_events{portal="p",event_name="ONEVENT19999",status="queued"} 19999',
      );
      expect(text).toBe(rendered.text);
    },
  );

  it(
    'credentials apply: without them or with wrong ones, 401 and no body; with them, the body',
    { timeout: 60_000 },
    async () => {
      const { url } = await start(metricsWith(20_000), { bearerToken: 'scrape-secret' });
      await settle();

      const { duringBlock, answers } = await scrapeWhileBlocked(url, [
        'Bearer scrape-secret',
        '',
        'Bearer wrong-secret',
      ]);

      // only the authorized scrape was answered by the worker; the others waited for the main thread
      expect(duringBlock).toEqual([true, false, false]);
      expect(answers.map((a) => a.status)).toEqual([200, 401, 401]);
      expect(gunzipSync(Buffer.from(answers[0]!.body, 'base64')).toString('utf8')).toContain(
        'ONEVENT19999',
      );
      for (const refused of answers.slice(1))
        expect(Buffer.from(refused.body, 'base64').toString('utf8')).toBe('Unauthorized\n');
    },
  );

  it(
    'a scrape that finds only a body too old gets a new render, written by the worker thread',
    { timeout: 60_000 },
    async () => {
      const metrics = metricsWith(20_000);
      const monitor = await start(metrics);
      let reachedMainThread = 0;
      monitor.server.on('connection', () => reachedMainThread++);
      const gzip = { 'accept-encoding': 'gzip' };
      // the text format: nothing is held for it yet, so the main thread answers this one
      await scrape(monitor.url, gzip);
      // now held: the worker answers, and no render is planned after the next 1 s
      await scrape(monitor.url, gzip);
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      metrics.events.set({ portal: 'p', event_name: 'ONEVENT0', status: 'queued' }, 4242);

      const late = await scrape(monitor.url, gzip);

      expect(late.status).toBe(200);
      expect(late.text).toContain('event_name="ONEVENT0",status="queued"} 4242');
      expect(reachedMainThread).toBe(1);
    },
  );

  it('a small exposition is still rendered fresh for each scrape', async () => {
    const metrics = metricsWith(3);
    const { url } = await start(metrics);
    await settle();
    const first = await scrape(url, { accept: OPENMETRICS, 'accept-encoding': 'gzip' });
    metrics.events.set({ portal: 'p', event_name: 'ONEVENT0', status: 'queued' }, 42);
    const second = await scrape(url, { accept: OPENMETRICS, 'accept-encoding': 'gzip' });

    expect(first.text).toContain('event_name="ONEVENT0",status="queued"} 0');
    expect(second.text).toContain('event_name="ONEVENT0",status="queued"} 42');
  });

  it('an address in use is refused with the same error as a plain server', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const refused = await start(metricsWith(1), undefined, port).then(
        () => null,
        (error: unknown) => error as NodeJS.ErrnoException,
      );

      expect(refused?.code).toBe('EADDRINUSE');
      expect(refused?.message).toBe(`listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('the thread ends with the server: its port is free again and no thread is left', async () => {
    // the thread pool zlib uses is started first, so that the count below is the worker's alone
    await promisify(gzip)(Buffer.alloc(10));
    const threads = () =>
      Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
    const before = threads();
    const { url } = await start(metricsWith(1));
    const running = threads();
    expect((await scrape(url, {})).status).toBe(200);

    await server!.close();
    server = undefined;
    for (let waited = 0; threads() > before && waited < 5_000; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));

    expect(running).toBeGreaterThan(before);
    expect(threads()).toBe(before);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    const again = await start(metricsWith(1), undefined, Number(new URL(url).port));
    expect((await scrape(again.url, {})).status).toBe(200);
  });
});

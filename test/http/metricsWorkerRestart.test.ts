/**
 * The thread that owns the public socket (src/http/metricsWorker.ts) is started again when it
 * stops unasked (src/http/workerSupervisor.ts): on the same port, with the same credentials,
 * after a backoff, with a log line per crash and restart that carries no credential; a port
 * taken meanwhile is logged and tried again; after close() nothing is restarted.
 */
import { createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpAuthConfig } from '../../src/config/types.js';
import { startHttpServer, type MonitorServer } from '../../src/http/server.js';
import { restartDelayMs, safeError } from '../../src/http/workerSupervisor.js';
import type { MonitorMetrics } from '../../src/metrics/definitions.js';
import { metricsWith } from '../helpers/largeMetrics.js';

const OPENMETRICS = 'application/openmetrics-text; version=1.0.0';
const SECRET = 'restart-secret-5f1c9a';
let server: MonitorServer | undefined;
let blocker: Server | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
  blocker = undefined;
});

interface LogLine {
  readonly msg: string;
  readonly restartInMs?: number;
  readonly hint?: string;
  readonly [field: string]: unknown;
}

/** The server's log lines, parsed, and their raw text (to look for a secret anywhere). */
function capture() {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'info' }, destination);
  const lines = () =>
    raw
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LogLine);
  return { logger, lines, raw };
}

async function start(
  metrics: MonitorMetrics,
  log: ReturnType<typeof capture>,
  auth?: HttpAuthConfig,
) {
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    metrics,
    pollers: [],
    logger: log.logger,
    version: '0.0.0',
    auth,
  });
  return server;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (at most `ms`) until `ready` holds; answers whether it did. */
async function until(ready: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(25))
    if (await ready()) return true;
  return false;
}

const answers = (url: string) =>
  fetch(`${url}/healthz`).then(
    (response) => response.status === 200,
    () => false,
  );

const messages = (log: ReturnType<typeof capture>) => log.lines().map((line) => line.msg);
const STOPPED =
  'The metrics worker stopped: /metrics, /healthz and / do not answer until it is restarted';
const RESTARTED = 'The metrics worker restarted';
const NO_LISTEN = 'The metrics worker could not listen again: retrying';

describe('a metrics worker that stops unasked', () => {
  it(
    'after an uncaught exception it is started again on the same port, with the same credentials, and answers from its own bodies',
    { timeout: 60_000 },
    async () => {
      const log = capture();
      const monitor = await start(metricsWith(20_000), log, { bearerToken: SECRET });
      let reachedMainThread = 0;
      monitor.server.on('connection', () => reachedMainThread++);
      const headers = {
        accept: OPENMETRICS,
        'accept-encoding': 'gzip',
        authorization: `Bearer ${SECRET}`,
      };
      /** A scrape answered by the thread from a body pushed to it, not by the main thread. */
      const byThread = async () => {
        const before = reachedMainThread;
        const answer = await fetch(`${monitor.url}/metrics`, { headers });
        await answer.arrayBuffer();
        return answer.status === 200 && reachedMainThread === before;
      };
      // the server renders OpenMetrics + gzip every second at first: the thread gets a body
      const servedBefore = await until(byThread);
      const first = monitor.worker()!;

      // a message the thread cannot handle: an uncaught TypeError in it, as a bug would throw
      // (newer than the body it holds, or it would be passed over)
      first.postMessage({
        kind: 'body',
        openMetrics: true,
        startedAt: Date.now() + 3_600_000,
        plainBytes: 1,
        gzip: null,
      });
      const restarted = await until(() => messages(log).includes(RESTARTED));
      // at once: the new thread got the newest body with its start, not at the next render
      const firstByThread = await byThread();
      const back = await until(() => answers(monitor.url));
      const scrape = await fetch(`${monitor.url}/metrics`, { headers });
      const refused = await fetch(`${monitor.url}/metrics`, {
        headers: { 'accept-encoding': 'gzip' },
      });

      expect(servedBefore).toBe(true);
      expect(restarted).toBe(true);
      expect(back).toBe(true);
      expect(firstByThread).toBe(true);
      expect(monitor.worker()).not.toBe(first);
      expect(scrape.status).toBe(200);
      expect(await scrape.text()).toContain('event_name="ONEVENT19999",status="queued"} 19999');
      expect(refused.status).toBe(401);
      const lines = log.lines();
      const failed = lines.find((line) => line.msg === 'The metrics worker failed');
      const stopped = lines.find((line) => line.msg === STOPPED);
      const restartLine = lines.find((line) => line.msg === RESTARTED);
      expect(failed).toMatchObject({ level: 50, err: { type: 'TypeError' } });
      expect(stopped).toMatchObject({
        level: 50,
        exitCode: 1,
        restartInMs: 100,
        port: Number(new URL(monitor.url).port),
      });
      expect(restartLine).toMatchObject({
        level: 30,
        restarts: 1,
        port: Number(new URL(monitor.url).port),
      });
      expect(log.raw.join('')).not.toContain(SECRET);
    },
  );

  it(
    'stopped again and again, it waits longer each time (100 ms doubling)',
    { timeout: 60_000 },
    async () => {
      const log = capture();
      const monitor = await start(metricsWith(1), log);

      for (let round = 1; round <= 3; round++) {
        await monitor.worker()!.terminate();
        expect(
          await until(() => messages(log).filter((m) => m === RESTARTED).length === round),
        ).toBe(true);
      }

      const waits = log
        .lines()
        .filter((line) => line.msg === STOPPED)
        .map((line) => line.restartInMs);
      expect(waits).toEqual([100, 200, 400]);
      expect(await answers(monitor.url)).toBe(true);
      const metrics = await fetch(`${monitor.url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('\nb24_offline_http_worker_restarts_total 3\n');
    },
  );

  it(
    'a port taken meanwhile is logged with what to do, tried again with the backoff, and taken back once free',
    { timeout: 60_000 },
    async () => {
      const log = capture();
      const monitor = await start(metricsWith(1), log, {
        basic: { username: 'prom', password: SECRET },
      });
      const port = Number(new URL(monitor.url).port);

      await monitor.worker()!.terminate();
      blocker = createServer();
      await new Promise<void>((resolve) => blocker!.listen(port, '127.0.0.1', resolve));
      const refusedTwice = await until(
        () => messages(log).filter((m) => m === NO_LISTEN).length >= 2,
      );
      const whileTaken = log.lines().filter((line) => line.msg === NO_LISTEN);
      await new Promise((resolve) => blocker!.close(resolve));
      blocker = undefined;
      const back = await until(
        () => messages(log).includes(RESTARTED) && answers(monitor.url),
        15_000,
      );

      expect(refusedTwice).toBe(true);
      expect(whileTaken[0]).toMatchObject({
        level: 50,
        port,
        host: '127.0.0.1',
        retryInMs: 200,
        err: { code: 'EADDRINUSE' },
      });
      expect(whileTaken[0]!.hint).toContain(`127.0.0.1:${port}`);
      expect(whileTaken[1]).toMatchObject({ retryInMs: 400 });
      expect(back).toBe(true);
      const page = await fetch(`${monitor.url}/metrics`, {
        headers: { authorization: `Basic ${Buffer.from(`prom:${SECRET}`).toString('base64')}` },
      });
      expect(page.status).toBe(200);
      expect(log.raw.join('')).not.toContain(SECRET);
      expect(log.raw.join('')).not.toContain(Buffer.from(`prom:${SECRET}`).toString('base64'));
    },
  );

  it('after close() nothing is restarted and the port is free', { timeout: 60_000 }, async () => {
    const log = capture();
    const monitor = await start(metricsWith(1), log);
    const port = Number(new URL(monitor.url).port);

    // stopped, then closed before its restart is due
    await monitor.worker()!.terminate();
    await monitor.close();
    server = undefined;
    await sleep(1_000);

    expect(messages(log)).toContain(STOPPED);
    expect(messages(log)).not.toContain(RESTARTED);
    expect(await answers(monitor.url)).toBe(false);
    blocker = createServer();
    await new Promise<void>((resolve, reject) => {
      blocker!.once('error', reject);
      blocker!.listen(port, '127.0.0.1', resolve);
    });
  });

  it('closed while it runs: no crash is logged and nothing is restarted', async () => {
    const log = capture();
    const monitor = await start(metricsWith(1), log);

    await monitor.close();
    server = undefined;
    await sleep(500);

    expect(messages(log)).not.toContain(STOPPED);
    expect(messages(log)).not.toContain(RESTARTED);
    expect(await answers(monitor.url)).toBe(false);
  });
});

describe('restart backoff and error fields', () => {
  it.each([
    [0, 100],
    [1, 200],
    [5, 3_200],
    [8, 25_600],
    [9, 30_000],
    [1_000, 30_000],
  ])('restart %i waits %i ms', (attempt, ms) => {
    expect(restartDelayMs(attempt)).toBe(ms);
  });

  it('a thread error that quotes a credential is logged without it', () => {
    const auth = { bearerToken: SECRET, basic: { username: 'prom', password: 'pw-7c2e' } };
    const basic = Buffer.from('prom:pw-7c2e').toString('base64');
    const error = Object.assign(
      new Error(`bad header Bearer ${SECRET} / Basic ${basic} / pw-7c2e`),
      {
        code: 'EX',
      },
    );

    const fields = safeError(error, auth);

    expect(fields.message).toBe('bad header Bearer [redacted] / Basic [redacted] / [redacted]');
    expect(fields.stack).toContain('bad header Bearer [redacted] / Basic [redacted] / [redacted]');
    expect(`${fields.stack} ${JSON.stringify(fields)}`).not.toMatch(
      /restart-secret|pw-7c2e|cHJvbTpwdy03YzJl/,
    );
    expect(fields).toBeInstanceOf(Error);
    expect(fields).toMatchObject({ code: 'EX' });
  });
});

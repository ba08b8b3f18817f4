/**
 * Strict parsing at the edge: a garbled TIMESTAMP_X or an impossible `total` fails the poll
 * with reason bad_response instead of becoming a plausible figure; the `code` label of
 * b24_offline_rest_errors_total takes only known values.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRestClient } from '../../src/b24/client.js';
import { TokenManager } from '../../src/b24/tokens.js';
import { createMetrics } from '../../src/metrics/definitions.js';
import { errorCodeLabel } from '../../src/metrics/errorCodes.js';
import { MetricsRenderer } from '../../src/metrics/render.js';
import { PortalMetrics } from '../../src/metrics/portalMetrics.js';
import { RequestCounter } from '../../src/poll/requestCounter.js';
import { PortalPoller } from '../../src/poll/poller.js';
import { parsePromText } from '../helpers/promText.js';

const silent = pino({ level: 'silent' });
let server: Server;
let restUrl: string;
/** The next answers of the portal, as [status, body]; the last one repeats. */
let answers: [number, unknown][] = [];
const dispatcher = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const [status, body] =
        answers.length > 1 ? (answers.shift() ?? [500, {}]) : (answers[0] ?? [500, {}]);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  restUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rest/`;
});

afterAll(async () => {
  await dispatcher.close();
  server.closeAllConnections();
  server.close();
});

beforeEach(() => {
  answers = [];
});

function monitor() {
  const metrics = createMetrics('0.0.0');
  const portalMetrics = new PortalMetrics(metrics, 'p');
  const requests = new RequestCounter(portalMetrics);
  const tokens = new TokenManager({
    portal: 'p',
    store: {
      path: 'memory',
      load: async () => ({ refreshToken: 'refresh-token-1234', accessToken: 'access-token-1234' }),
      save: async () => undefined,
    },
    oauth: { oauthUrl: 'http://127.0.0.1:1/oauth/token/', clientId: 'c', clientSecret: 's' },
    observer: portalMetrics,
    logger: silent,
    exchange: async () => ({ accessToken: 'a'.repeat(20), refreshToken: 'r'.repeat(20) }),
  });
  const client = createRestClient({
    restUrl,
    tokens,
    observer: requests,
    logger: silent,
    dispatcher,
    limiter: { acquire: async () => undefined, drainPerSecond: 1000 },
    clock: { now: () => Date.now(), sleep: async () => undefined },
    maxRetries: 0,
  });
  const poller = new PortalPoller({
    name: 'p',
    client,
    observer: portalMetrics,
    requests,
    logger: silent,
    strategy: 'scan',
    pollTimeoutMs: 3_000,
  });
  const scrape = async () => parsePromText(await new MetricsRenderer(metrics).render(false));
  return { poller, scrape };
}

function row(timestamp: string) {
  return {
    ID: '1',
    TIMESTAMP_X: timestamp,
    EVENT_NAME: 'ONCRMLEADADD',
    PROCESS_ID: '',
    ERROR: '0',
  };
}

/** The scan's first request: a batch of event.get and the first page. */
function firstBatch(page: unknown[], total: unknown) {
  return {
    result: {
      result: { handlers: [], page },
      result_error: [],
      result_total: { page: total },
      result_next: [],
      result_time: [],
    },
  };
}

describe('TIMESTAMP_X', () => {
  it.each([
    '1',
    'foo 2020',
    '2024-05-01T10:00:00',
    '2024-05-01 10:00:00+03:00',
    '2024-13-01T10:00:00Z',
  ])('%j fails the poll with bad_response', async (timestamp) => {
    answers = [[200, firstBatch([row(timestamp)], 1)]];
    const { poller } = monitor();

    const report = await poller.poll();

    expect(report.ok).toBe(false);
    expect(report.error?.reason).toBe('bad_response');
    expect(report.error?.message).toMatch(/TIMESTAMP_X is not an ISO 8601 date with an offset/);
  });

  it.each([
    ['2024-05-01T10:00:00+03:00', Date.UTC(2024, 4, 1, 7) / 1000],
    ['2024-05-01T10:00:00Z', Date.UTC(2024, 4, 1, 10) / 1000],
    ['2024-05-01T10:00:00.250-0130', Date.UTC(2024, 4, 1, 11, 30) / 1000],
  ])('%j is read with its offset', async (timestamp, unix) => {
    answers = [[200, firstBatch([row(timestamp)], 1)]];
    const { poller } = monitor();

    const report = await poller.poll();

    expect(report.snapshot?.groups.get('ONCRMLEADADD')?.queued.oldest).toBe(unix);
  });
});

describe('total', () => {
  it.each([
    ['0 with a row on the page', 0],
    ['1e30', 1e30],
    ['2^53 + 1 as a string', '9007199254740993'],
    ['negative', -1],
    ['a fraction', 1.5],
  ])('%s fails the poll with bad_response', async (_name, total) => {
    answers = [[200, firstBatch([row('2024-05-01T10:00:00+03:00')], total)]];
    const { poller } = monitor();

    const report = await poller.poll();

    expect(report.ok).toBe(false);
    expect(report.error?.reason).toBe('bad_response');
  });
});

describe('the code label of b24_offline_rest_errors_total', () => {
  it('counts codes outside the known set under other: one series however they vary', async () => {
    const { poller, scrape } = monitor();

    for (let i = 0; i < 5; i++) {
      answers = [[400, { error: `WEIRD_${i}_${'x'.repeat(i * 50)}`, error_description: 'no' }]];
      await poller.poll();
    }
    answers = [[503, { error: 'QUERY_LIMIT_EXCEEDED' }]];
    await poller.poll();

    const errors = (await scrape()).filter((s) => s.name === 'b24_offline_rest_errors_total');
    expect(errors.map((s) => [s.labels['code'], s.value]).sort()).toEqual([
      ['QUERY_LIMIT_EXCEEDED', 1],
      ['other', 5],
    ]);
  });

  it.each([
    ['expired_token', 'expired_token'],
    ['HTTP_502', 'HTTP_502'],
    ['HTTP_999', 'other'],
    ['ECONNRESET', 'ECONNRESET'],
    ['<script>', 'other'],
  ])('%s → %s', (code, label) => {
    expect(errorCodeLabel(code)).toBe(label);
  });
});

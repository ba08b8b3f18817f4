/**
 * Bad input from the portal, property-based: random and mutated answers — valid answers with
 * fields deleted, retyped or replaced, garbage bytes, truncated JSON, any HTTP status, and
 * bodies that echo the access token back — thrown at the answer parser, the row parsers, the
 * REST client over real HTTP and the poller. Every time: no crash, no unhandled rejection, and
 * either a result or a typed MonitorError whose message holds no token.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { pino } from 'pino';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRestClient, type B24RestClient } from '../../src/b24/client.js';
import { MonitorError } from '../../src/b24/errors.js';
import { TokenManager } from '../../src/b24/tokens.js';
import { answerOrError } from '../../src/b24/answerOrError.js';
import type {
  BatchAnswer,
  BatchCommand,
  CallAnswer,
  ClientObserver,
  RestClient,
} from '../../src/b24/types.js';
import { createMetrics } from '../../src/metrics/definitions.js';
import { PortalMetrics } from '../../src/metrics/portalMetrics.js';
import { PortalPoller } from '../../src/poll/poller.js';
import {
  parseOfflineEventNames,
  parseRows,
  parseTimestamp,
  parseTotal,
} from '../../src/poll/parseAnswers.js';
import { STATUSES } from '../../src/queue/snapshot.js';
import { messagesOf } from './support.js';

const ACCESS_TOKEN = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const NEW_ACCESS_TOKEN = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const REFRESH_TOKEN = '0123456789abcdef0123456789abcdef';
const NEW_REFRESH_TOKEN = 'fedcba9876543210fedcba9876543210';
const TOKENS = [ACCESS_TOKEN, NEW_ACCESS_TOKEN, REFRESH_TOKEN, NEW_REFRESH_TOKEN];
/** Runs per property; the whole file stays within a few seconds. */
const RUNS = { pure: 400, client: 120, poller: 250, pollerHttp: 60 };

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});

afterAll(async () => {
  await new Promise((resolve) => setTimeout(resolve, 50));
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

// ---------------------------------------------------------------------------------------------
// Answers: valid ones, and mutations of them

/**
 * Stands for the access token of the request: a portal may echo what it was sent (and nothing
 * else: it never sees the refresh token). The scripted server puts the request's `auth` there.
 */
const ECHO = '@@AUTH@@';

/** A string that sometimes echoes the access token. */
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constant(ECHO) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }))
      .map(([a, b]) => `${a}${ECHO}${b}`),
  },
);

/** `value` with every echo replaced by `token` (deep). */
function echo(value: unknown, token: string): unknown {
  return JSON.parse(
    JSON.stringify(value ?? null)
      .split(ECHO)
      .join(token),
  );
}

const json: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    text,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(text, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const iso = fc
  .integer({ min: 0, max: 4_000_000_000 })
  .map((s) => new Date(s * 1000).toISOString().replace('.000Z', '+03:00'));

const row = fc.record({
  ID: fc.oneof(fc.nat().map(String), fc.nat(), json),
  TIMESTAMP_X: fc.oneof(iso, json),
  EVENT_NAME: fc.oneof(fc.constantFrom('ONCRMLEADADD', 'ONCRMDEALUPDATE', 'onTaskAdd'), json),
  EVENT_DATA: json,
  EVENT_ADDITIONAL: json,
  MESSAGE_ID: fc.string({ minLength: 32, maxLength: 32 }),
  PROCESS_ID: fc.oneof(fc.constant(''), fc.string({ minLength: 32, maxLength: 32 }), json),
  ERROR: fc.oneof(fc.constantFrom('0', '1', 0, 1), json),
});

const validRow = fc.record({
  ID: fc.nat({ max: 1_000_000 }).map(String),
  TIMESTAMP_X: iso,
  EVENT_NAME: fc.constantFrom('ONCRMLEADADD', 'ONCRMDEALUPDATE'),
  EVENT_DATA: fc.constant({ FIELDS: { ID: 1 } }),
  EVENT_ADDITIONAL: fc.constant({ user_id: '1' }),
  MESSAGE_ID: fc.constant('0'.repeat(32)),
  PROCESS_ID: fc.constantFrom('', 'f'.repeat(32)),
  ERROR: fc.constantFrom('0', '1'),
});

const time = fc.record({
  start: fc.double({ min: 0, max: 2e9, noNaN: true }),
  finish: fc.double({ min: 0, max: 2e9, noNaN: true }),
  operating: fc.double({ min: 0, max: 600, noNaN: true }),
  operating_reset_at: fc.nat(),
});

const handlers = fc.array(
  fc.record({
    event: fc.constantFrom('ONCRMLEADADD', 'OnCrmDealUpdate', 'ONTASKADD'),
    handler: fc.constant(''),
    offline: fc.constantFrom(0, 1, '1', true),
    connector_id: fc.constantFrom('', 'connector'),
  }),
  { maxLength: 4 },
);

/** `event.offline.list` answers as the portal sends them (rows sorted by ID). */
const listAnswer = fc
  .record({
    rows: fc.array(validRow, { maxLength: 6 }),
    total: fc.nat({ max: 200 }),
    time,
  })
  .map(({ rows, total, time: t }) => ({
    result: [...rows].sort((a, b) => Number(a.ID) - Number(b.ID)),
    total,
    time: t,
  }));

/** A `batch` answer of the first request of a poll: event.get and page 1. */
const batchAnswer = fc
  .record({ page: listAnswer, handlers, t1: time, t2: time })
  .map(({ page, handlers: h, t1, t2 }) => ({
    result: {
      result: { handlers: h, page: page.result },
      result_error: [],
      result_total: { page: page.total },
      result_next: [],
      result_time: { handlers: t1, page: t2 },
    },
    time: t1,
  }));

const errorAnswer = fc.record({
  error: fc.oneof(
    fc.constantFrom('QUERY_LIMIT_EXCEEDED', 'expired_token', 'ACCESS_DENIED', 'OVERLOAD_LIMIT'),
    text,
    fc.integer(),
  ),
  error_description: fc.oneof(text, json),
  time: fc.option(time),
});

type Path = readonly (string | number)[];

function pathsOf(value: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...at, i], out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) pathsOf(v, [...at, k], out);
  }
  return out;
}

type Mutation = { readonly at: number; readonly op: number; readonly with: unknown };

function mutate(base: unknown, mutations: readonly Mutation[]): unknown {
  let value: unknown = structuredClone(base);
  for (const m of mutations) {
    const paths = pathsOf(value);
    const path = paths[m.at % paths.length] ?? [];
    const replace = (old: unknown): unknown | typeof DELETE => {
      switch (m.op % 6) {
        case 0:
          return DELETE;
        case 1:
          return m.with;
        case 2:
          return typeof old === 'string' ? Number(old) : (JSON.stringify(old) ?? 'undefined');
        case 3:
          return [old];
        case 4:
          return old !== null && typeof old === 'object' ? Object.values(old) : { value: old };
        default:
          return null;
      }
    };
    if (path.length === 0) {
      const next = replace(value);
      value = next === DELETE ? undefined : next;
      continue;
    }
    const parent = path.slice(0, -1).reduce<unknown>((v, k) => (v as never)[k], value);
    const key = path[path.length - 1] as string | number;
    const next = replace((parent as Record<string | number, unknown>)[key]);
    if (next === DELETE) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete (parent as Record<string | number, unknown>)[key];
    } else (parent as Record<string | number, unknown>)[key] = next;
  }
  return value;
}

const DELETE = Symbol('delete');

const mutation = fc.record({ at: fc.nat(), op: fc.nat(), with: json });

function mutated(base: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc
    .tuple(base, fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([b, ms]) => mutate(b, ms));
}

/** Any answer body: valid, mutated, random JSON, garbage, truncated. */
const answerJson = fc.oneof(
  listAnswer,
  batchAnswer,
  errorAnswer,
  mutated(listAnswer),
  mutated(batchAnswer),
  mutated(errorAnswer),
  json,
);

const body = fc.oneof(
  { weight: 6, arbitrary: answerJson.map((v) => Buffer.from(JSON.stringify(v) ?? '')) },
  {
    weight: 1,
    arbitrary: answerJson.map((v) => {
      const full = JSON.stringify(v) ?? '';
      return Buffer.from(full.slice(0, Math.max(0, full.length >> 1)));
    }),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
);

/** Mostly a valid answer of that kind (200), else any status and any body. */
function answerFor(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Answer> {
  return fc.oneof(
    {
      weight: 3,
      arbitrary: valid.map((v) => ({ status: 200, body: Buffer.from(JSON.stringify(v)) })),
    },
    {
      weight: 1,
      arbitrary: mutated(valid).map((v) => ({
        status: 200,
        body: Buffer.from(JSON.stringify(v) ?? ''),
      })),
    },
    { weight: 1, arbitrary: fc.record({ status, body }) },
  );
}

const status = fc.oneof(
  { weight: 4, arbitrary: fc.constant(200) },
  { weight: 2, arbitrary: fc.constantFrom(400, 401, 403, 404, 429, 500, 502, 503) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 599 }) },
);

/** What every failure must be: typed, and free of tokens. */
function expectTyped(error: unknown): void {
  expect(error).toBeInstanceOf(MonitorError);
  for (const message of messagesOf(error)) {
    for (const token of TOKENS) expect(message).not.toContain(token);
  }
}

function outcome<T>(run: () => T): { value: T } | { error: unknown } {
  try {
    return { value: run() };
  } catch (error) {
    return { error };
  }
}

// ---------------------------------------------------------------------------------------------

describe('the answer parser', () => {
  it('turns any status and JSON into an object or a typed error without tokens', () => {
    fc.assert(
      fc.property(status, answerJson, (httpStatus, answer) => {
        const json = echo(answer, ACCESS_TOKEN);
        const result = outcome(() =>
          answerOrError('event.offline.list', { status: httpStatus, json }, [ACCESS_TOKEN]),
        );
        if ('error' in result) expectTyped(result.error);
        else {
          expect(typeof result.value).toBe('object');
          expect(httpStatus >= 200 && httpStatus <= 299).toBe(true);
        }
      }),
      { numRuns: RUNS.pure },
    );
  });
});

describe('the row parsers', () => {
  it('parseRows: rows with the fields the snapshot needs, or a BadResponseError', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.array(row, { maxLength: 5 }), mutated(fc.array(validRow)), json),
        (result) => {
          const parsed = outcome(() => parseRows(result));
          if ('error' in parsed) {
            expectTyped(parsed.error);
            return;
          }
          for (const r of parsed.value) {
            expect(Number.isInteger(r.ID) && r.ID >= 0).toBe(true);
            expect([0, 1]).toContain(r.ERROR);
            expect(typeof r.PROCESS_ID).toBe('string');
            expect(typeof r.EVENT_NAME).toBe('string');
          }
        },
      ),
      { numRuns: RUNS.pure },
    );
  });

  it('parseTotal, parseOfflineEventNames, parseTimestamp: a value or a BadResponseError', () => {
    fc.assert(
      fc.property(json, handlers, fc.oneof(iso, text), (value, bound, stamp) => {
        const total = outcome(() => parseTotal(value));
        if ('error' in total) expectTyped(total.error);
        else expect(Number.isInteger(total.value) && total.value >= 0).toBe(true);
        for (const input of [value, bound, mutate(bound, [{ at: 3, op: 1, with: value }])]) {
          const names = outcome(() => parseOfflineEventNames(input));
          if ('error' in names) expectTyped(names.error);
          else for (const name of names.value) expect(name).toBe(name.toUpperCase());
        }
        const seconds = outcome(() => parseTimestamp(stamp));
        if ('error' in seconds) expect(seconds.error).toBeInstanceOf(MonitorError);
        else expect(Number.isFinite(seconds.value)).toBe(true);
      }),
      { numRuns: RUNS.pure },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Over HTTP: a node:http server that answers whatever the property says

interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

interface Scripted {
  readonly server: Server;
  readonly restUrl: string;
  /** Answers to `batch` requests, cycled. */
  batches: readonly Answer[];
  /** Answers to any other method, cycled. */
  others: readonly Answer[];
  served: number;
}

async function scriptedServer(): Promise<Scripted> {
  const state: Scripted = {
    server: createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const pool = req.url?.endsWith('/batch') === true ? state.batches : state.others;
        const answer = pool[state.served % Math.max(1, pool.length)];
        state.served += 1;
        let auth = '';
        try {
          auth = String((JSON.parse(Buffer.concat(chunks).toString()) as { auth?: unknown }).auth);
        } catch {
          // not JSON: nothing to echo
        }
        const raw = answer?.body ?? Buffer.alloc(0);
        const echoed = raw.includes(ECHO)
          ? Buffer.from(raw.toString().split(ECHO).join(auth))
          : raw;
        res.writeHead(answer?.status ?? 500, { 'content-type': 'application/json' });
        res.end(echoed);
      });
    }),
    restUrl: '',
    batches: [],
    others: [],
    served: 0,
  };
  state.server.listen(0, '127.0.0.1');
  await once(state.server, 'listening');
  const { port } = state.server.address() as AddressInfo;
  return Object.assign(state, { restUrl: `http://127.0.0.1:${port}/rest/` });
}

/** A scripted server and a short-lived agent for one describe block. */
function useScriptedServer(): { readonly scripted: Scripted; readonly dispatcher: Agent } {
  const state = {} as { scripted: Scripted; dispatcher: Agent };
  beforeAll(async () => {
    state.scripted = await scriptedServer();
    state.dispatcher = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });
  });
  afterAll(async () => {
    await state.dispatcher.close();
    state.scripted.server.closeAllConnections();
    state.scripted.server.close();
  });
  return state;
}

const silent = pino({ level: 'silent' });
const noObserver: ClientObserver = {
  request: () => undefined,
  restError: () => undefined,
  operating: () => undefined,
  refresh: () => undefined,
};

function clientFor(
  restUrl: string,
  dispatcher: Agent,
  observer: ClientObserver = noObserver,
): B24RestClient {
  const tokens = new TokenManager({
    portal: 'prop',
    store: {
      path: 'memory',
      load: async () => ({ refreshToken: REFRESH_TOKEN, accessToken: ACCESS_TOKEN }),
      save: async () => undefined,
    },
    oauth: { oauthUrl: 'http://127.0.0.1:1/oauth/token/', clientId: 'c', clientSecret: 's' },
    observer,
    logger: silent,
    exchange: async () => ({ accessToken: NEW_ACCESS_TOKEN, refreshToken: NEW_REFRESH_TOKEN }),
  });
  return createRestClient({
    restUrl,
    tokens,
    observer,
    logger: silent,
    dispatcher,
    limiter: { acquire: async () => undefined, drainPerSecond: 1000 },
    clock: { now: () => Date.now(), sleep: async () => undefined },
    maxRetries: 1,
    timeouts: { headersMs: 2_000, bodyMs: 2_000, totalMs: 3_000 },
  });
}

describe('the REST client over HTTP', () => {
  const http = useScriptedServer();

  it('call and batch resolve to an answer or reject with a typed error without tokens', async () => {
    const client = clientFor(http.scripted.restUrl, http.dispatcher);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ status, body }), { minLength: 1, maxLength: 3 }),
        async (answers) => {
          http.scripted.batches = answers;
          http.scripted.others = answers;
          http.scripted.served = 0;
          const call = await client.call('event.offline.list', { filter: { '>ID': 0 } }).then(
            (value) => ({ value }),
            (error: unknown) => ({ error }),
          );
          if ('error' in call) expectTyped(call.error);
          else expect(call.value).toHaveProperty('result');
          const batch = await client
            .batch({
              handlers: { method: 'event.get', params: {} },
              page: { method: 'event.offline.list', params: { filter: { '>ID': 0 } } },
            })
            .then(
              (value) => ({ value }),
              (error: unknown) => ({ error }),
            );
          if ('error' in batch) expectTyped(batch.error);
          else {
            expect(typeof batch.value.result).toBe('object');
            for (const total of Object.values(batch.value.resultTotal))
              expect(typeof total).toBe('number');
          }
        },
      ),
      { numRuns: RUNS.client },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The poller

/** What a validated answer of one command may hold: mostly valid, sometimes anything. */
function pieceOf(valid: fc.Arbitrary<unknown>) {
  return fc.record({
    result: fc.oneof(
      { weight: 6, arbitrary: valid },
      { weight: 1, arbitrary: mutated(valid) },
      { weight: 1, arbitrary: json },
    ),
    total: fc.oneof(
      { weight: 6, arbitrary: fc.nat({ max: 300 }) },
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true })) },
    ),
    error: fc.oneof(
      { weight: 10, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc.record({
          error: fc.oneof(
            fc.constantFrom('ERROR_BATCH_METHOD_NOT_ALLOWED', 'ACCESS_DENIED'),
            fc.string({ maxLength: 20 }),
          ),
          error_description: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        }),
      },
    ),
    missing: fc.oneof({ weight: 15, arbitrary: fc.constant(false) }, fc.constant(true)),
  });
}

const listPiece = pieceOf(listAnswer.map((a) => a.result));
const handlersPiece = pieceOf(handlers);
type Piece = typeof listPiece extends fc.Arbitrary<infer T> ? T : never;

/**
 * A RestClient that answers from generated pieces, cycling through them per method: whatever
 * the real client could hand over after validating an answer (its types, any content).
 */
function stubClient(lists: readonly Piece[], bound: readonly Piece[]): RestClient {
  const next = { list: 0, get: 0 };
  const take = (method: string): Piece =>
    method === 'event.get'
      ? (bound[next.get++ % bound.length] as Piece)
      : (lists[next.list++ % lists.length] as Piece);
  return {
    async call(method): Promise<CallAnswer> {
      const p = take(method);
      return { result: p.result, ...(p.total === undefined ? {} : { total: p.total }) };
    },
    async batch(commands: Readonly<Record<string, BatchCommand>>): Promise<BatchAnswer> {
      const answer = {
        result: {} as Record<string, unknown>,
        resultError: {} as Record<string, { error: string; error_description?: string }>,
        resultTotal: {} as Record<string, number>,
        resultNext: {},
        resultTime: {},
      };
      for (const [name, command] of Object.entries(commands)) {
        const p = take(command.method);
        if (p.error !== undefined) answer.resultError[name] = p.error;
        else if (!p.missing) answer.result[name] = p.result;
        if (p.total !== undefined) answer.resultTotal[name] = p.total;
      }
      return answer;
    },
  };
}

function pollerWith(client: RestClient, strategy: 'scan' | 'count' | 'auto'): PortalPoller {
  const metrics = new PortalMetrics(createMetrics('0.0.0'), 'prop');
  return new PortalPoller({
    name: 'prop',
    client,
    observer: metrics,
    // the client here is a stand-in that sends no HTTP request
    requests: { sent: 0 },
    logger: silent,
    strategy,
    pollTimeoutMs: 2_000,
  });
}

function expectReport(report: Awaited<ReturnType<PortalPoller['poll']>>): void {
  if (!report.ok) {
    expectTyped(report.error);
    // a parser or the poll code threw something untyped (a TypeError...) that the poller had
    // to wrap: the answer was not validated where it entered
    expect(report.error?.code).not.toBe('B24_INTERNAL');
    return;
  }
  const snapshot = report.snapshot;
  expect(Number.isInteger(snapshot?.depth) && (snapshot?.depth ?? -1) >= 0).toBe(true);
  for (const stats of snapshot?.groups.values() ?? []) {
    for (const status of STATUSES) {
      expect(Number.isInteger(stats[status].count) && stats[status].count >= 0).toBe(true);
    }
  }
}

describe('the poller', () => {
  it('with any answers behind the client: a report, never a throw; failures typed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(listPiece, { minLength: 1, maxLength: 8 }),
        fc.array(handlersPiece, { minLength: 1, maxLength: 2 }),
        fc.constantFrom('scan', 'count', 'auto' as const),
        async (lists, bound, strategy) => {
          const report = await pollerWith(stubClient(lists, bound), strategy).poll();
          expectReport(report);
        },
      ),
      { numRuns: RUNS.poller },
    );
  });

  describe('over HTTP, with the real client', () => {
    const http = useScriptedServer();

    it('a report every time, failures typed and without tokens', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(answerFor(batchAnswer), { minLength: 1, maxLength: 3 }),
          fc.array(answerFor(listAnswer), { minLength: 1, maxLength: 3 }),
          fc.constantFrom('scan', 'count', 'auto' as const),
          async (batches, others, strategy) => {
            http.scripted.batches = batches;
            http.scripted.others = others;
            http.scripted.served = 0;
            const client = clientFor(http.scripted.restUrl, http.dispatcher);
            const report = await pollerWith(client, strategy).poll();
            expectReport(report);
          },
        ),
        { numRuns: RUNS.pollerHttp },
      );
    });
  });

  // A portal that echoes what it was sent may put the access token in TIMESTAMP_X: the
  // message must not quote it (the contract: no token in an error message).
  it('a TIMESTAMP_X that echoes the access token does not reach the message', async () => {
    const scripted = await scriptedServer();
    const dispatcher = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });
    const row = {
      ID: '1',
      TIMESTAMP_X: ECHO,
      EVENT_NAME: 'ONCRMLEADADD',
      PROCESS_ID: '',
      ERROR: '0',
    };
    scripted.batches = [
      {
        status: 200,
        body: Buffer.from(
          JSON.stringify({
            result: {
              result: { handlers: [], page: [row] },
              result_error: [],
              result_total: { page: 1 },
              result_next: [],
              result_time: [],
            },
          }),
        ),
      },
    ];

    try {
      const report = await pollerWith(clientFor(scripted.restUrl, dispatcher), 'scan').poll();
      expect(report.error?.message).toMatch(/TIMESTAMP_X is not an ISO 8601 date with an offset/);
      expectTyped(report.error);
    } finally {
      await dispatcher.close();
      scripted.server.closeAllConnections();
      scripted.server.close();
    }
  });
});

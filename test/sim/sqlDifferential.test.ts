/**
 * The in-memory portal and the SQL-backed one (a real MariaDB with the server's table) must
 * answer every `event.offline.list` alike: fast-check builds small queues (mixed-case names,
 * trailing spaces, ties in TIMESTAMP_X, reserved and failed rows), copies each into MariaDB
 * and asks both portals over HTTP with generated filters, orders and offsets.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SimPortal } from '../../src/sim/index.js';
import { parseFilter } from '../../src/sim/index.js';
import { addSqlPortal, copyQueue, startMariaDb } from '../../src/sim/sql/index.js';
import type { MariaDb, SqlQueue } from '../../src/sim/sql/index.js';
import { describeWithMariaDb } from '../helpers/mariadb.js';
import { rest, startSim } from './helpers.js';
import type { ApiAnswer, Harness } from './helpers.js';

/** Names that differ only in case, trailing spaces or characters between 'Z' and 'a'. */
const NAMES = ['ONCRMLEADADD', 'ONCRM_LEAD', 'ONCRMA', 'ONTASK ADD', 'ONX', 'ONX  ', 'ON[1]'];
const MESSAGE_IDS = ['abc', 'Abd', 'ab_', 'ab ', 'zz', 'Z', 'm-1', 'M_2', '0a', 'ONX'];
const BASE_MS = Date.UTC(2024, 6, 10, 12, 0, 0);
const HOUR = 3_600_000;

interface RowPlan {
  readonly name: string;
  readonly messageId: string | null;
  readonly hour: number;
  readonly second: number;
  /** 0 queued, 1 reserved, 2 failed (reserved, then marked as an error). */
  readonly status: 0 | 1 | 2;
}

const rowPlan = fc.record({
  name: fc.constantFrom(...NAMES),
  messageId: fc.option(fc.constantFrom(...MESSAGE_IDS), { freq: 2 }),
  hour: fc.integer({ min: 0, max: 4 }),
  second: fc.constantFrom(0, 0, 1, 59),
  status: fc.constantFrom<0 | 1 | 2>(0, 0, 0, 1, 2),
});

function withCase(text: string): fc.Arbitrary<string> {
  return fc.constantFrom(
    text,
    text.toLowerCase(),
    text.toUpperCase(),
    `${text} `,
    text.slice(0, 3),
    text.slice(1),
  );
}

const stringValue = fc.oneof(
  fc.constantFrom(...NAMES).chain(withCase),
  fc.constantFrom(...MESSAGE_IDS).chain(withCase),
  fc.constantFrom('', ' ', 'a', 'M', 'z', '_', '[', 'on', '%', 'A_', '\\'),
);

function dateText(hour: number, second: number, style: number): string {
  const ms = BASE_MS + hour * HOUR + second * 1000;
  const iso = new Date(ms).toISOString().slice(0, 19);
  return style === 0 ? `${iso}+00:00` : style === 1 ? iso.replace('T', ' ') : iso.slice(0, 10);
}

const valueFor: Record<string, fc.Arbitrary<unknown>> = {
  ID: fc.oneof(
    fc.integer({ min: -1, max: 45 }),
    fc.constantFrom('3', ' 7', '12abc', '', 'x', '2.5'),
  ),
  TIMESTAMP_X: fc
    .tuple(fc.integer({ min: -1, max: 5 }), fc.constantFrom(0, 1, 30, 59), fc.nat(2))
    .map(([hour, second, style]) => dateText(hour, second, style)),
  EVENT_NAME: stringValue,
  MESSAGE_ID: stringValue,
  PROCESS_ID: stringValue,
  ERROR: fc.constantFrom(0, 1, '0', '1', ' 1', 'x', 2),
};

const likeValueFor: Record<string, fc.Arbitrary<unknown>> = {
  ...valueFor,
  ID: fc.constantFrom('1', '2', '0', '3'),
  TIMESTAMP_X: fc.constantFrom('2024-07-10', ':00:', '13:', ' 1', ':59'),
  ERROR: fc.constantFrom('0', '1'),
};

const OPS = ['', '=', '>', '<', '>=', '<=', '@', '%'] as const;

const condition = fc
  .tuple(fc.constantFrom(...Object.keys(valueFor)), fc.constantFrom(...OPS))
  .chain(([field, op]) => {
    const value = (op === '%' ? likeValueFor : valueFor)[field]!;
    const arbitrary =
      op === '@'
        ? fc.array(value, { minLength: 0, maxLength: 3 })
        : op === '=' || op === ''
          ? fc.oneof(
              { weight: 5, arbitrary: value },
              fc.array(value, { minLength: 1, maxLength: 3 }),
            )
          : value;
    return arbitrary.map((v) => [`${op}${field}`, v] as const);
  });

const filter = fc
  .array(condition, { maxLength: 3 })
  .map((pairs) => Object.fromEntries(pairs) as Record<string, unknown>);

const order = fc
  .uniqueArray(
    fc.tuple(
      fc.constantFrom('ID', 'TIMESTAMP_X', 'EVENT_NAME', 'MESSAGE_ID', 'PROCESS_ID', 'ERROR'),
      fc.constantFrom('ASC', 'DESC', 'desc'),
    ),
    { maxLength: 2, selector: ([field]) => field },
  )
  .map((pairs) => Object.fromEntries(pairs) as Record<string, string>);

const query = fc.record({
  filter,
  order,
  start: fc.oneof(fc.constantFrom(0, 0, -1, 1, 49, 50), fc.integer({ min: 0, max: 45 })),
});

/** Explicit MESSAGE_IDs are used once per queue: the server's unique key would refuse more. */
function usedOnce(rows: readonly RowPlan[]): RowPlan[] {
  const seen = new Set<string>();
  return rows.map((row) => {
    const key = row.messageId?.toUpperCase().trimEnd();
    if (key === undefined || !seen.has(key)) {
      if (key !== undefined) seen.add(key);
      return row;
    }
    return { ...row, messageId: null };
  });
}

function buildQueue(portal: SimPortal, rows: readonly RowPlan[]): void {
  const queue = portal.queue();
  for (const row of usedOnce(rows)) {
    const added = portal.add({
      eventName: row.name,
      timestampMs: BASE_MS + row.hour * HOUR + row.second * 1000,
      ...(row.messageId === null ? {} : { messageId: row.messageId }),
    });
    if (row.status === 0) continue;
    const only = parseFilter({ '=ID': added.id }, { offsetMinutes: portal.offsetMinutes });
    const { processId } = queue.reserve(1, { filter: only, clear: false });
    if (row.status === 2) queue.markError(processId);
  }
}

function comparable(answer: ApiAnswer) {
  return answer.status === 200
    ? { status: 200, result: answer.body.result, total: answer.body.total, next: answer.body.next }
    : { status: answer.status, error: answer.body.error };
}

describeWithMariaDb('the SQL-backed portal answers like the in-memory one', () => {
  let db: MariaDb;
  let harness: Harness;
  let sqlPortal: SimPortal;
  let sqlQueue: SqlQueue;
  let sqlToken: string;
  let runs = 0;

  beforeAll(async () => {
    db = await startMariaDb({ bufferPoolMb: 64 });
    harness = await startSim();
    const added = await addSqlPortal(
      harness.server,
      'sql',
      { socket: db.socket, appId: 5 },
      { rateLimit: null, operatingLimit: null },
    );
    sqlPortal = added.portal;
    sqlQueue = added.queue;
    sqlToken = sqlPortal.authorize('test').accessToken;
  }, 60_000);

  afterAll(async () => {
    await sqlQueue?.close();
    await harness?.close();
    await db?.stop();
  });

  it('gives the same rows, totals and next for generated queues and lists', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowPlan, { maxLength: 40 }),
        fc.array(query, { minLength: 1, maxLength: 6 }),
        async (rows, queries) => {
          const memory = harness.server.addPortal(`mem${++runs}`, {
            rateLimit: null,
            operatingLimit: null,
          });
          try {
            buildQueue(memory, rows);
            await sqlQueue.clear();
            await copyQueue(memory.queue(), sqlQueue);
            const memoryToken = memory.authorize('test').accessToken;
            for (const params of queries) {
              const agent = harness.agent;
              const [fromMemory, fromSql] = await Promise.all([
                rest(agent, memory, 'event.offline.list', params, { token: memoryToken }),
                rest(agent, sqlPortal, 'event.offline.list', params, { token: sqlToken }),
              ]);
              expect(comparable(fromSql), JSON.stringify(params)).toEqual(comparable(fromMemory));
            }
          } finally {
            harness.server.removePortal(memory.id);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reports the database time of each list as time.processing and adds it up as operating', async () => {
    const metered = await addSqlPortal(
      harness.server,
      'metered',
      { socket: db.socket, appId: 6 },
      {
        rateLimit: null,
      },
    );
    const token = metered.portal.authorize('test').accessToken;
    const call = () =>
      rest(
        harness.agent,
        metered.portal,
        'event.offline.list',
        { filter: { '%EVENT_NAME': 'LEAD' } },
        {
          token,
        },
      );

    const first = (await call()).body.time ?? {};
    const second = (await call()).body.time ?? {};
    await metered.queue.close();

    const [p1, p2] = [Number(first['processing']), Number(second['processing'])];
    expect(p1).toBeGreaterThan(0);
    expect(p2).toBeGreaterThan(0);
    expect(Number(first['operating'])).toBeCloseTo(p1, 5);
    expect(Number(second['operating'])).toBeCloseTo(p1 + p2, 5);
  });
});

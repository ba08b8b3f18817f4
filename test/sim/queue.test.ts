/** The queue store in-process: merging, reservations, expiry, compaction, and a model check. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ManualClock,
  OfflineQueue,
  PROCESS_ID_LIFETIME_SEC,
  formatSql,
  parseFilter,
  parseOrder,
} from '../../src/sim/index.js';
import type { Condition, OfflineRowJson, OrderKey } from '../../src/sim/index.js';

const T0 = Date.UTC(2024, 6, 18, 9, 32, 31);
const ALL = { conditions: [], key: '' };

function newQueue(options: { offsetMinutes?: number } = {}) {
  const clock = new ManualClock(T0);
  return { clock, queue: new OfflineQueue({ clock, ...options }) };
}

function allRows(queue: OfflineQueue): OfflineRowJson[] {
  const rows: OfflineRowJson[] = [];
  queue.forEachLive((row) => rows.push(queue.get(row.id)!));
  return rows;
}

describe('adding', () => {
  it('gives increasing IDs and renders the row', () => {
    const { queue } = newQueue();

    const first = queue.add({ eventName: 'onCrmLeadAdd', data: false, additional: null });
    const second = queue.add({ eventName: 'ONCRMDEALADD', timestampMs: T0 - 1500 });

    expect([first.id, second.id]).toEqual([1, 2]);
    expect(queue.get(1)).toEqual({
      ID: '1',
      TIMESTAMP_X: '2024-07-18T12:32:31+03:00',
      EVENT_NAME: 'ONCRMLEADADD',
      EVENT_DATA: false,
      EVENT_ADDITIONAL: null,
      MESSAGE_ID: first.messageId,
      PROCESS_ID: '',
      ERROR: '0',
    });
    expect(first.messageId).toMatch(/^[0-9a-f]{32}$/);
    expect(queue.get(2)?.TIMESTAMP_X).toBe('2024-07-18T12:32:29+03:00');
  });

  it.each([
    [-330, '2024-07-18T04:02:31-05:30'],
    [0, '2024-07-18T09:32:31+00:00'],
    [120, '2024-07-18T11:32:31+02:00'],
  ])('renders TIMESTAMP_X with offset %i', (offsetMinutes, expected) => {
    const { queue } = newQueue({ offsetMinutes });

    queue.add({ eventName: 'ONCRMLEADADD' });

    expect(queue.get(1)?.TIMESTAMP_X).toBe(expected);
  });
});

describe('merging by MESSAGE_ID', () => {
  const message = 'a'.repeat(32);

  it('updates the unreserved row in place', () => {
    const { queue, clock } = newQueue();
    queue.add({ eventName: 'ONCRMLEADADD', messageId: message, data: { v: 1 } });
    clock.advance(5000);

    const merged = queue.add({
      eventName: 'ONCRMLEADADD',
      messageId: message,
      data: { v: 2 },
      additional: { user_id: '7' },
    });

    expect(merged).toEqual({ id: 1, merged: true, messageId: message });
    expect(queue.size).toBe(1);
    expect(queue.get(1)).toMatchObject({
      TIMESTAMP_X: '2024-07-18T12:32:36+03:00',
      EVENT_DATA: { v: 2 },
      EVENT_ADDITIONAL: { user_id: '7' },
    });
  });

  it('adds a new row while the first is reserved, and merges into the first once it failed', () => {
    const { queue } = newQueue();
    queue.add({ eventName: 'ONCRMLEADADD', messageId: message });
    const { processId } = queue.reserve(10, { clear: false });

    const whileReserved = queue.add({ eventName: 'ONCRMLEADADD', messageId: message });
    queue.markError(processId);
    const afterError = queue.add({ eventName: 'ONCRMLEADADD', messageId: message });

    expect(whileReserved).toMatchObject({ id: 2, merged: false });
    expect(afterError).toMatchObject({ id: 1, merged: true });
    expect(queue.size).toBe(2);
  });

  it('merges into seeded rows through their synthetic MESSAGE_ID', () => {
    const { queue } = newQueue();
    queue.add({ eventName: 'ONCRMLEADADD' });
    const seeded = queue.get(1)!;

    const merged = queue.add({ eventName: 'ONCRMLEADADD', messageId: seeded.MESSAGE_ID });

    expect(merged).toMatchObject({ id: 1, merged: true });
  });
});

describe('reservations', () => {
  function threeRows() {
    const env = newQueue();
    env.queue.add({ eventName: 'A', timestampMs: T0 - 1000 });
    env.queue.add({ eventName: 'B', timestampMs: T0 - 3000 });
    env.queue.add({ eventName: 'C', timestampMs: T0 - 2000 });
    return env;
  }

  it('takes the oldest TIMESTAMP_X first and deletes with clear (default)', () => {
    const { queue } = threeRows();

    const taken = queue.reserve(2);

    expect(taken.events.map((event) => event.ID)).toEqual(['2', '3']);
    expect(Object.keys(taken.events[0]!)).toEqual([
      'ID',
      'TIMESTAMP_X',
      'EVENT_NAME',
      'EVENT_DATA',
      'EVENT_ADDITIONAL',
      'MESSAGE_ID',
    ]);
    expect(allRows(queue).map((row) => row.ID)).toEqual(['1']);
  });

  it('reserves under a PROCESS_ID with clear=false, then clears some by ID', () => {
    const { queue } = threeRows();

    const { processId } = queue.reserve(3, { clear: false });
    const cleared = queue.clear(processId, { ids: [1, 3] });

    expect(processId).toMatch(/^[0-9a-z]{32}$/);
    expect(cleared).toBe(2);
    expect(allRows(queue).map((row) => [row.ID, row.PROCESS_ID])).toEqual([['2', processId]]);
  });

  it('clears by MESSAGE_ID', () => {
    const { queue } = threeRows();
    const { processId, events } = queue.reserve(3, { clear: false });

    queue.clear(processId, { messageIds: [events[0]!.MESSAGE_ID] });

    expect(queue.size).toBe(2);
  });

  it('marks errors, which a normal reserve skips and error=1 returns', () => {
    const { queue } = threeRows();
    const { processId } = queue.reserve(1, { clear: false });

    queue.markError(processId);
    const normal = queue.reserve(10, { clear: false });
    const errors = queue.reserve(10, { error: true, clear: false });

    expect(queue.get(2)).toMatchObject({ ERROR: '1', PROCESS_ID: errors.processId });
    expect(normal.events.map((event) => event.ID)).toEqual(['3', '1']);
    expect(errors.events.map((event) => event.ID)).toEqual(['2']);
  });

  it('adds to an existing process up to the limit', () => {
    const { queue } = threeRows();
    const { processId } = queue.reserve(1, { clear: false });

    const again = queue.reserve(2, { processId, clear: false });

    expect(again.processId).toBe(processId);
    expect(again.events.map((event) => event.ID)).toEqual(['2', '3']);
    expect(queue.get(1)?.PROCESS_ID).toBe('');
  });

  it('deletes reserved rows whose TIMESTAMP_X is older than PROCESS_ID_LIFETIME, never unreserved or error rows', () => {
    const { queue, clock } = threeRows();
    const failed = queue.reserve(1, { clear: false });
    queue.markError(failed.processId);
    queue.reserve(1, { clear: false });
    const reservedTs = Date.parse(queue.get(3)!.TIMESTAMP_X); // reserved just now

    const early = queue.cleanup(reservedTs + PROCESS_ID_LIFETIME_SEC * 1000);
    const due = queue.cleanup(reservedTs + PROCESS_ID_LIFETIME_SEC * 1000 + 1);

    expect([early, due]).toEqual([0, 1]);
    expect(allRows(queue).map((row) => [row.ID, row.ERROR])).toEqual([
      ['1', '0'],
      ['2', '1'],
    ]);
    expect(clock.now()).toBe(T0);
  });

  it('runs the cleanup once a day, at whole days since the epoch', () => {
    const { queue } = threeRows();
    queue.reserve(3, { clear: false });
    const tooOldFrom = T0 + PROCESS_ID_LIFETIME_SEC * 1000; // every row is older from here on
    const firstRunAfter = Math.ceil(tooOldFrom / 86_400_000) * 86_400_000;

    const runBefore = queue.expire(tooOldFrom + 3_600_000); // the day's run was before tooOldFrom
    const sameDay = queue.expire(firstRunAfter - 1); // old enough, but no run since
    const nextRun = queue.expire(firstRunAfter);

    expect([runBefore, sameDay, nextRun]).toEqual([0, 0, 3]);
  });
});

describe('compaction', () => {
  it('keeps IDs, counts and merging right after most rows are deleted', () => {
    const { queue } = newQueue();
    for (let i = 1; i <= 5000; i++) {
      queue.add({
        eventName: i % 2 === 0 ? 'EVEN' : 'ODD',
        messageId: `m${String(i).padStart(31, '0')}`,
      });
    }

    queue.reserve(4000, { order: [{ field: 'ID', desc: false }] });
    const merged = queue.add({
      eventName: 'EVEN',
      messageId: `m${String(4500).padStart(31, '0')}`,
    });
    const filter = parseFilter({ '>ID': 4990, EVENT_NAME: 'EVEN' }, { offsetMinutes: 180 });

    expect(queue.size).toBe(1000);
    expect(merged).toMatchObject({ id: 4500, merged: true });
    expect(queue.count(filter)).toBe(5);
    expect(queue.list(filter, [{ field: 'ID', desc: true }], 1, 2).map((row) => row.ID)).toEqual([
      '4998',
      '4996',
    ]);
  });
});

// ---- model check -------------------------------------------------------------------------

interface ModelRow {
  id: number;
  ts: number;
  name: string;
  message: string;
  processId: string;
  error: boolean;
}

type Op =
  | { kind: 'add'; name: string; ageSec: number; message: number | null }
  | { kind: 'reserve'; limit: number; error: boolean; clear: boolean }
  | { kind: 'clear'; process: number; some: boolean }
  | { kind: 'error'; process: number };

const NAMES = ['ONCRMLEADADD', 'ONCRMLEADUPDATE', 'ONCRMDEALADD'];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      name: fc.constantFrom(...NAMES),
      ageSec: fc.integer({ min: 0, max: 40 }).map((n) => n * 125),
      message: fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      limit: fc.integer({ min: 1, max: 4 }),
      error: fc.boolean(),
      clear: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('clear' as const),
      process: fc.nat(5),
      some: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('error' as const), process: fc.nat(5) }) },
);

const filterArb = fc.dictionary(
  fc.constantFrom(
    'ID',
    '>ID',
    '<=ID',
    '@ID',
    'ERROR',
    '=PROCESS_ID',
    '>PROCESS_ID',
    'EVENT_NAME',
    '%EVENT_NAME',
    '<TIMESTAMP_X',
    '>=TIMESTAMP_X',
  ),
  fc.integer({ min: 0, max: 40 }),
  { maxKeys: 3 },
);

function rawFilter(spec: Record<string, number>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, n] of Object.entries(spec)) {
    if (key.endsWith('ID') && !key.endsWith('PROCESS_ID'))
      out[key] = key === '@ID' ? [n, n + 1, n + 3] : n;
    else if (key === 'ERROR') out[key] = n % 2;
    else if (key.endsWith('PROCESS_ID')) out[key] = '';
    else if (key === 'EVENT_NAME') out[key] = NAMES[n % 3];
    else if (key === '%EVENT_NAME') out[key] = ['LEAD', 'DEAL', 'UPD'][n % 3];
    else out[key] = new Date(T0 - n * 125_000).toISOString();
  }
  return out;
}

function matches(row: ModelRow, condition: Condition): boolean {
  const { field, op, values } = condition;
  if (values.length === 0) return false;
  const value: number | string =
    field === 'ID'
      ? row.id
      : field === 'TIMESTAMP_X'
        ? row.ts
        : field === 'EVENT_NAME'
          ? row.name.toUpperCase()
          : field === 'MESSAGE_ID'
            ? row.message.toUpperCase()
            : field === 'PROCESS_ID'
              ? row.processId.toUpperCase()
              : row.error
                ? 1
                : 0;
  if (op === '%') {
    const text = field === 'TIMESTAMP_X' ? formatSql(row.ts, 180) : String(value);
    return text.includes(String(values[0]));
  }
  const first = values[0]!;
  switch (op) {
    case '>':
      return value > first;
    case '>=':
      return value >= first;
    case '<':
      return value < first;
    case '<=':
      return value <= first;
    default:
      return values.includes(value);
  }
}

function modelCompare(order: readonly OrderKey[]) {
  return (a: ModelRow, b: ModelRow): number => {
    // ties go by ID in the direction of the last key (see compileOrder)
    const tie = { field: 'ID' as const, desc: order.at(-1)?.desc === true };
    for (const { field, desc } of [...order, tie]) {
      const x = field === 'ID' ? a.id : field === 'TIMESTAMP_X' ? a.ts : a.name;
      const y = field === 'ID' ? b.id : field === 'TIMESTAMP_X' ? b.ts : b.name;
      if (x !== y) return (x < y ? -1 : 1) * (desc ? -1 : 1);
    }
    return 0;
  };
}

describe('model check', () => {
  it('agrees with a naive model on state, counts and pages', () => {
    const orderArb = fc.constantFrom<Record<string, string>>(
      {},
      { ID: 'DESC' },
      { TIMESTAMP_X: 'ASC' },
      { TIMESTAMP_X: 'DESC' },
      { EVENT_NAME: 'ASC', TIMESTAMP_X: 'DESC' },
    );
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 60 }),
        fc.array(fc.tuple(filterArb, orderArb, fc.integer({ min: 0, max: 30 })), {
          minLength: 1,
          maxLength: 5,
        }),
        (ops, queries) => {
          const { queue } = newQueue();
          const model: ModelRow[] = [];
          const processes: string[] = [];
          let nextId = 1;
          for (const op of ops) {
            if (op.kind === 'add') {
              const message =
                op.message === null ? undefined : `msg${String(op.message).padStart(29, '0')}`;
              const ts = T0 - op.ageSec * 1000;
              const result = queue.add({
                eventName: op.name,
                timestampMs: ts,
                ...(message === undefined ? {} : { messageId: message }),
              });
              const target =
                message === undefined
                  ? undefined
                  : model.find((row) => row.message === message && row.processId === '');
              if (target !== undefined) {
                expect(result).toMatchObject({ id: target.id, merged: true });
                target.ts = ts;
              } else {
                expect(result).toMatchObject({ id: nextId, merged: false });
                model.push({
                  id: nextId++,
                  ts,
                  name: op.name,
                  message: result.messageId,
                  processId: '',
                  error: false,
                });
              }
            } else if (op.kind === 'reserve') {
              const result = queue.reserve(op.limit, { error: op.error, clear: op.clear });
              const picked = model
                .filter((row) => row.processId === '' && row.error === op.error)
                .sort((a, b) => a.ts - b.ts || a.id - b.id)
                .slice(0, op.limit);
              expect(result.events.map((event) => Number(event.ID))).toEqual(
                picked.map((row) => row.id),
              );
              for (const row of picked) row.processId = result.processId;
              if (op.clear) for (const row of picked) model.splice(model.indexOf(row), 1);
              else if (picked.length > 0) processes.push(result.processId);
            } else if (processes.length > 0) {
              const processId = processes[op.process % processes.length]!;
              const held = model.filter((row) => row.processId === processId);
              const chosen =
                op.kind === 'clear' && op.some ? held.filter((_, i) => i % 2 === 0) : held;
              if (op.kind === 'clear') {
                queue.clear(processId, op.some ? { ids: chosen.map((row) => row.id) } : {});
                for (const row of chosen) model.splice(model.indexOf(row), 1);
              } else {
                queue.markError(processId);
                for (const row of chosen) Object.assign(row, { processId: '', error: true });
              }
            }
          }
          expect(
            allRows(queue).map((row) => [
              Number(row.ID),
              row.PROCESS_ID,
              row.ERROR === '1',
              Date.parse(row.TIMESTAMP_X),
            ]),
          ).toEqual(
            model.map((row) => [row.id, row.processId, row.error, row.ts - (row.ts % 1000)]),
          );
          for (const [spec, rawOrder, offset] of queries) {
            const filter = parseFilter(rawFilter(spec), { offsetMinutes: 180 });
            const order = parseOrder(rawOrder, [{ field: 'ID', desc: false }]);
            const expected = model
              .filter((row) => filter.conditions.every((c) => matches(row, c)))
              .sort(modelCompare(order));
            expect(queue.count(filter)).toBe(expected.length);
            expect(queue.list(filter, order, offset, 50).map((row) => Number(row.ID))).toEqual(
              expected.slice(offset, offset + 50).map((row) => row.id),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts a whole queue the same as the model after bulk deletes', () => {
    const { queue } = newQueue();
    for (let i = 0; i < 3000; i++) queue.add({ eventName: NAMES[i % 3]! });

    const { processId } = queue.reserve(2500, {
      clear: false,
      order: [{ field: 'ID', desc: false }],
    });
    queue.clear(processId, { ids: Array.from({ length: 2400 }, (_, i) => i + 1) });

    expect(queue.size).toBe(600);
    expect(queue.count(parseFilter({ '>PROCESS_ID': '' }, { offsetMinutes: 180 }))).toBe(100);
    expect(queue.count(ALL)).toBe(600);
    expect(queue.list(ALL, [{ field: 'ID', desc: false }], 99, 2).map((row) => row.ID)).toEqual([
      '2500',
      '2501',
    ]);
  });
});

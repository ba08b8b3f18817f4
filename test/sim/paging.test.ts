/** Paging of `event.offline.list`: fixed pages of 50, `start` offsets, `next`, `total`, keyset scans. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimPortal } from '../../src/sim/index.js';
import type { Harness } from './helpers.js';
import {
  TIME_KEYS_OPERATING,
  idsOf,
  keysetPage,
  monitoredPortal,
  rest,
  startSim,
} from './helpers.js';

let sim: Harness;

beforeAll(async () => {
  sim = await startSim();
});

afterAll(async () => {
  await sim.close();
});

function seeded(id: string, rows: number): { portal: SimPortal; token: string } {
  const env = monitoredPortal(sim, id);
  env.portal.fill({ counts: { ONCRMLEADADD: { queued: rows } } });
  return env;
}

describe('offset paging', () => {
  let portal: SimPortal;
  let token: string;

  beforeAll(() => {
    ({ portal, token } = seeded('offsets', 120));
  });

  it.each([
    [0, 50, 1, 50],
    [50, 50, 51, 100],
    [100, 20, 101, undefined],
    [119, 1, 120, undefined],
    [120, 0, undefined, undefined],
    [-1, 50, 1, 50],
    ['abc', 50, 1, 50],
  ])('start=%s gives %i rows from ID %s, next=%s', async (start, count, firstId, next) => {
    const answer = await rest(sim.agent, portal, 'event.offline.list', { start }, { token });

    expect(answer.body.total).toBe(120);
    expect(idsOf(answer)).toHaveLength(count);
    expect(idsOf(answer)[0]).toBe(firstId);
    expect(answer.body.next).toBe(next);
  });

  it('has no next on a last page that is exactly full', async () => {
    const answer = await rest(
      sim.agent,
      portal,
      'event.offline.list',
      { start: 50, filter: { '<=ID': 100 } },
      { token },
    );

    expect(idsOf(answer)).toHaveLength(50);
    expect(answer.body.total).toBe(100);
    expect(answer.body.next).toBeUndefined();
  });

  it('keeps total, next, result and time in the answer', async () => {
    const answer = await rest(sim.agent, portal, 'event.offline.list', {}, { token });

    expect(Object.keys(answer.body)).toEqual(['result', 'total', 'next', 'time']);
    expect(Object.keys(answer.body.time ?? {})).toEqual([...TIME_KEYS_OPERATING]);
  });
});

describe('keyset scan while a consumer deletes rows', () => {
  async function keysetScan(
    portal: SimPortal,
    token: string,
    betweenPages: (page: number) => void,
  ): Promise<number[]> {
    const seen: number[] = [];
    let last = 0;
    for (let page = 0; ; page++) {
      const answer = await keysetPage(sim, portal, last, token);
      const ids = idsOf(answer);
      seen.push(...ids);
      if (ids.length < 50) return seen;
      last = ids[ids.length - 1]!;
      betweenPages(page);
    }
  }

  it('sees every row that exists throughout the scan exactly once', async () => {
    const { portal, token } = seeded('keyset', 1000);
    const queue = portal.queue();
    const deleted = new Set<number>();
    const deleteIds = (ids: number[]) => {
      const { processId } = queue.reserve(ids.length, {
        clear: false,
        filter: { conditions: [{ field: 'ID', op: '@', values: ids }], key: '' },
      });
      queue.clear(processId);
      ids.forEach((id) => deleted.add(id));
    };

    const seen = await keysetScan(portal, token, (page) => {
      // behind the cursor, just ahead of it, and far ahead
      deleteIds([page * 50 + 1, page * 50 + 60, page * 50 + 61, 900 - page]);
    });

    const survivors = Array.from({ length: 1000 }, (_, i) => i + 1).filter(
      (id) => !deleted.has(id),
    );
    expect(new Set(seen).size).toBe(seen.length);
    expect(survivors.every((id) => seen.includes(id))).toBe(true);
  });

  it('is what offset paging is not: offsets skip rows when earlier ones are deleted', async () => {
    const { portal, token } = seeded('offset-skips', 200);
    const queue = portal.queue();
    const seen: number[] = [];

    for (let start = 0; start < 200; start += 50) {
      const answer = await rest(sim.agent, portal, 'event.offline.list', { start }, { token });
      seen.push(...idsOf(answer));
      queue.reserve(10, { order: [{ field: 'ID', desc: false }] }); // consumer deletes the oldest 10
    }

    const deletedLater = new Set(Array.from({ length: 40 }, (_, i) => i + 1));
    const missed = Array.from({ length: 200 }, (_, i) => i + 1).filter(
      (id) => !seen.includes(id) && !deletedLater.has(id),
    );
    expect(missed).toEqual([
      ...Array.from({ length: 10 }, (_, i) => 51 + i),
      ...Array.from({ length: 10 }, (_, i) => 111 + i),
      ...Array.from({ length: 10 }, (_, i) => 171 + i),
    ]);
  });

  it('works downwards with <ID and DESC', async () => {
    const { portal, token } = seeded('keyset-desc', 130);
    const seen: number[] = [];
    let last = Number.MAX_SAFE_INTEGER;

    for (;;) {
      const answer = await rest(
        sim.agent,
        portal,
        'event.offline.list',
        { filter: { '<ID': last }, order: { ID: 'DESC' }, start: -1 },
        { token },
      );
      const ids = idsOf(answer);
      seen.push(...ids);
      if (ids.length < 50) break;
      last = ids[ids.length - 1]!;
    }

    expect(seen).toEqual(Array.from({ length: 130 }, (_, i) => 130 - i));
  });
});

describe('start: 0', () => {
  it.each(['json', 'form', 'get'] as const)(
    'gives the first page and total (%s)',
    async (transport) => {
      const { portal, token } = seeded(`start-zero-${transport}`, 70);

      const answer = await rest(
        sim.agent,
        portal,
        'event.offline.list',
        { start: 0 },
        { token, transport },
      );

      expect(answer.body.total).toBe(70);
      expect(idsOf(answer)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(answer.body.next).toBe(50);
    },
  );
});

describe('a portal that omits total (omitListTotal)', () => {
  it('answers without total, directly and in a batch (no result_total); next stays', async () => {
    const { portal, token } = seeded('no-total', 70);
    portal.configure({ omitListTotal: true });
    const call = (method: string, params: Record<string, unknown>) =>
      rest(sim.agent, portal, method, params, { token });

    const first = await call('event.offline.list', { start: 0 });
    const last = await call('event.offline.list', { start: 50 });
    const batch = await call('batch', {
      cmd: { page: 'event.offline.list?start=0', errors: 'event.offline.list?filter%5BERROR%5D=1' },
    });
    portal.configure({ omitListTotal: false });
    const back = await call('event.offline.list', { start: 0 });

    expect(Object.keys(first.body)).toEqual(['result', 'next', 'time']);
    expect(idsOf(first)).toHaveLength(50);
    expect(first.body.next).toBe(50);
    expect(Object.keys(last.body)).toEqual(['result', 'time']);
    expect(idsOf(last)).toHaveLength(20);
    const result = batch.body.result as Record<string, unknown>;
    expect(result['result_total']).toEqual([]);
    expect(result['result_next']).toEqual({ page: 50 });
    expect((result['result'] as Record<string, unknown[]>)['page']).toHaveLength(50);
    expect(back.body.total).toBe(70);
  });
});

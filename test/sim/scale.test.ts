/** Scale: a million rows in one queue, a thousand portals on one server. Timings are printed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFilter, spreadCounts } from '../../src/sim/index.js';
import type { SimPortal } from '../../src/sim/index.js';
import type { Harness } from './helpers.js';
import { idsOf, keysetPage, rest, startSim } from './helpers.js';

let sim: Harness;

beforeAll(async () => {
  sim = await startSim();
});

afterAll(async () => {
  await sim.close();
});

function timed<T>(run: () => T): [T, number] {
  const started = performance.now();
  const result = run();
  return [result, performance.now() - started];
}

describe('a million rows', () => {
  const NAMES = ['ONCRMLEADADD', 'ONCRMLEADUPDATE', 'ONCRMDEALADD', 'ONCRMDEALUPDATE'];
  let portal: SimPortal;
  let token: string;

  beforeAll(() => {
    portal = sim.server.addPortal('million', { rateLimit: null });
    token = portal.authorize('monitor').accessToken;
  });

  // the time it takes is printed, not asserted (a loaded machine is no verdict)
  it('fills 1,000,000 rows', () => {
    const counts = spreadCounts(NAMES, { queued: 900_000, reserved: 60_000, error: 40_000 });

    const [result, ms] = timed(() =>
      portal.fill({ counts, oldestMs: sim.clock.now() - 30 * 86_400_000 }),
    );
    console.log(`fill 1,000,000 rows: ${ms.toFixed(0)} ms`);

    expect(result).toEqual({ rows: 1_000_000, firstId: 1, lastId: 1_000_000 });
  });

  it('counts filters in a few milliseconds', () => {
    const queue = portal.queue();
    const filters = {
      'whole queue': {},
      'queued, one name': { EVENT_NAME: 'ONCRMLEADADD', '=PROCESS_ID': '', ERROR: 0 },
      unreserved: { '=PROCESS_ID': '' },
      errors: { ERROR: 1 },
      'older than a week': {
        '<TIMESTAMP_X': new Date(sim.clock.now() - 7 * 86_400_000).toISOString(),
      },
      'ID range': { '>ID': 123_456 },
    };
    const expected = [1_000_000, 225_000, 940_000, 40_000, 766_666, 876_544];

    const results = Object.entries(filters).map(([label, raw]) => {
      const filter = parseFilter(raw, { offsetMinutes: 180 });
      queue.count({ ...filter, key: `${filter.key}#warm` });
      const [count, ms] = timed(() => queue.count({ ...filter, key: `${filter.key}#cold` }));
      const [, cachedMs] = timed(() => queue.count({ ...filter, key: `${filter.key}#cold` }));
      console.log(
        `count ${label}: ${count} in ${ms.toFixed(2)} ms (cached ${cachedMs.toFixed(3)} ms)`,
      );
      return count;
    });

    expect(results[0]).toBe(expected[0]);
    expect(results[1]).toBe(expected[1]);
    expect(results[2]).toBe(expected[2]);
    expect(results[3]).toBe(expected[3]);
    expect(Math.abs(results[4]! - expected[4]!)).toBeLessThanOrEqual(2);
    expect(results[5]).toBe(expected[5]);
  });

  it('serves keyset pages with total over HTTP quickly', async () => {
    let last = 0;
    const started = performance.now();
    for (let page = 0; page < 40; page++) {
      const answer = await keysetPage(sim, portal, last, token);
      expect(answer.body.total).toBe(1_000_000 - page * 50);
      last = idsOf(answer).at(-1)!;
    }
    const perPage = (performance.now() - started) / 40;
    console.log(`keyset page over HTTP (with total): ${perPage.toFixed(2)} ms`);

    expect(last).toBe(2000);
  });

  it('computes ground truth in one pass', () => {
    const [truth, ms] = timed(() => portal.truth(sim.clock.now() / 1000));
    console.log(`truth over 1,000,000 rows: ${ms.toFixed(0)} ms`);

    expect(truth.depth).toBe(1_000_000);
    expect(truth.groups.get('ONCRMDEALADD')).toMatchObject({
      queued: { count: 225_000 },
      reserved: { count: 15_000 },
      error: { count: 10_000 },
    });
  });
});

describe('a thousand portals', () => {
  it('hosts them on one server', async () => {
    const before = process.memoryUsage().heapUsed;

    const [portals, ms] = timed(() =>
      Array.from({ length: 1000 }, (_, i) => {
        const portal = sim.server.addPortal(`p${i}`, { events: ['ONCRMLEADADD'] });
        portal.add({ eventName: 'ONCRMLEADADD' });
        return { portal, token: portal.authorize('monitor').accessToken };
      }),
    );
    const perPortalKb = (process.memoryUsage().heapUsed - before) / 1000 / 1024;
    console.log(`1000 portals: ${ms.toFixed(0)} ms, ~${perPortalKb.toFixed(1)} KiB heap each`);
    const sample = portals.filter((_, i) => i % 50 === 0);
    const answers = await Promise.all(
      sample.map(({ portal, token }) =>
        rest(sim.agent, portal, 'event.offline.list', {}, { token }),
      ),
    );

    expect(answers.map((answer) => answer.body.total)).toEqual(sample.map(() => 1));
    expect(perPortalKb).toBeLessThan(100);
  });
});

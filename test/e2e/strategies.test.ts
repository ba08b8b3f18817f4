/**
 * The count strategy gives the same metrics as the scan, to the row, on queues of several
 * shapes; it costs at most 2 requests with up to 16 event names; it falls back to single calls
 * when the portal refuses event.offline.list inside a batch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueSnapshot } from '../../src/queue/snapshot.js';
import type { FillSpec } from '../../src/sim/index.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { scanLogsForSecretsAfterAll } from '../helpers/leaks.js';

scanLogsForSecretsAfterAll();

let harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses) await h.close();
  harnesses = [];
});

const DAY = 86_400_000;
const names16 = Array.from({ length: 16 }, (_, i) => `ONCRMEVENT${String(i).padStart(2, '0')}`);

interface Shape {
  readonly bound: readonly string[];
  readonly counts: FillSpec['counts'];
  readonly spanMs: number;
}

const SHAPES: Record<string, Shape> = {
  'an empty queue': { bound: ['ONCRMLEADADD'], counts: {}, spanMs: DAY },
  'exactly one page': {
    bound: ['ONCRMLEADADD'],
    counts: { ONCRMLEADADD: { queued: 50 } },
    spanMs: DAY,
  },
  'only reserved rows': {
    bound: ['ONCRMLEADADD'],
    counts: { ONCRMLEADADD: { reserved: 180 } },
    spanMs: 40 * DAY,
  },
  'only error rows, all older than a week': {
    bound: ['ONCRMDEALADD'],
    counts: { ONCRMDEALADD: { error: 130 } },
    spanMs: 30 * DAY,
  },
  'sixteen event names, every status': {
    bound: names16,
    counts: Object.fromEntries(
      names16.map((n, i) => [n, { queued: 20 + i, reserved: i % 3, error: i % 5 }]),
    ),
    spanMs: 10 * DAY,
  },
  'rows of names no longer bound': {
    bound: ['ONCRMLEADADD'],
    counts: {
      ONCRMLEADADD: { queued: 40 },
      ONTASKADD: { queued: 25, error: 3 },
      ONUSERADD: { reserved: 7 },
    },
    spanMs: 2 * DAY,
  },
};

async function pollWith(strategy: string, shape: Shape, extra: Record<string, unknown> = {}) {
  const harness = await startHarness({
    portal: { events: [...shape.bound], ...extra },
    env: { MONITOR_STRATEGY: strategy },
    http: false,
  });
  harnesses.push(harness);
  const nowMs = Date.now();
  harness.portal.fill({
    counts: shape.counts,
    newestMs: nowMs - 2000,
    oldestMs: nowMs - shape.spanMs,
    random: undefined,
  });
  const [report] = await harness.monitor.pollOnce();
  if (report?.ok !== true) throw new Error(`poll failed: ${report?.error?.message}`);
  return { harness, report, truth: harness.portal.truth(report.snapshot!.takenAt) };
}

function plain(snapshot: QueueSnapshot) {
  return {
    depth: snapshot.depth,
    groups: Object.fromEntries([...snapshot.groups].sort(([a], [b]) => a.localeCompare(b))),
    olderThan: snapshot.olderThan,
  };
}

describe.each(Object.entries(SHAPES))('on %s', (_, shape) => {
  it('scan and count both equal the truth', async () => {
    const scan = await pollWith('scan', shape);
    const count = await pollWith('count', shape);

    expect(plain(scan.report.snapshot!)).toEqual(plain(scan.truth));
    expect(plain(count.report.snapshot!)).toEqual(plain(count.truth));
    const pages = Math.max(1, Math.ceil(scan.truth.depth / 50));
    expect(scan.report.requests).toBe(pages);
  });
});

describe('the count strategy', () => {
  it('costs at most 2 requests a poll with 16 event names, at any depth', async () => {
    const shape = SHAPES['sixteen event names, every status'] as Shape;
    const { harness } = await pollWith('count', shape);
    harness.portal.fill({ counts: { ONCRMEVENT03: { queued: 20_000 } } });

    const [second] = await harness.monitor.pollOnce();

    expect(second?.ok).toBe(true);
    expect(second?.requests).toBeLessThanOrEqual(2);
    expect(plain(second!.snapshot!)).toEqual(
      plain(harness.portal.truth(second!.snapshot!.takenAt)),
    );
  });

  it('falls back to single calls when the portal refuses event.offline.list in a batch', async () => {
    const shape = SHAPES['rows of names no longer bound'] as Shape;

    const { report, truth, harness } = await pollWith('count', shape, { batchAllowed: false });

    expect(plain(report.snapshot!)).toEqual(plain(truth));
    const direct = harness.portal.journal.list({ holder: 'monitor' }).filter((e) => !e.viaBatch);
    // the headline's four commands at least, each a call of its own
    expect(direct.filter((e) => e.method === 'event.offline.list').length).toBeGreaterThanOrEqual(
      4,
    );
  });

  it('is what auto uses at every depth, in at most 2 requests, and the choice shows in the log line and the metric', async () => {
    const harness = await startHarness({
      portal: { events: ['ONCRMLEADADD'] },
      env: { MONITOR_STRATEGY: 'auto' },
    });
    harnesses.push(harness);
    harness.portal.fill({ counts: { ONCRMLEADADD: { queued: 80 } } });
    const [small] = await harness.monitor.pollOnce();
    harness.portal.fill({ counts: { ONCRMLEADADD: { queued: 500 } } });
    const [large] = await harness.monitor.pollOnce();
    const samples = await harness.scrape();

    expect([small?.strategy, large?.strategy]).toEqual(['count', 'count']);
    expect(small?.requests).toBeLessThanOrEqual(2);
    expect(large?.requests).toBeLessThanOrEqual(2);
    expect(harness.log.find('Poll finished').map((l) => l['strategy'])).toEqual(['count', 'count']);
    const strategy = samples.filter((s) => s.name === 'b24_offline_poll_strategy');
    expect(strategy.map((s) => [s.labels['strategy'], s.value])).toEqual([
      ['scan', 0],
      ['count', 1],
    ]);
  });
});

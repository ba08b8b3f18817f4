/**
 * Names counted from the queue's recent tail (src/poll/tail.ts): on a portal whose COUNT(*)
 * over the queue costs 0.3 s, a refresh of the names counts only what can have changed since
 * the last full count when the old rows provably did not change, and every refresh of the
 * names, tail or full, equals the truth, whatever a consumer, the producers and the
 * retention job did to the queue in between.
 */
import { describe, expect, it } from 'vitest';
import type { PollReport } from '../../src/poll/report.js';
import { STUCK_COUNTS as STUCK, DAY, usePlanPortals } from './planShared.js';
import { changingQueueRun, start, tailRefresh } from './planTailCases.js';

const startPortal = usePlanPortals();

/** Commands that count one name's queued or error rows over the whole table. */
function fullPassByName(filters: readonly Record<string, unknown>[]): number {
  return filters.filter(
    (f) =>
      '=EVENT_NAME' in f &&
      f['=PROCESS_ID'] === '' &&
      !('>=TIMESTAMP_X' in f) &&
      !('<TIMESTAMP_X' in f),
  ).length;
}

describe('names from the tail of a queue whose old rows did not change', () => {
  it('counts a static large queue in full once, then only its tail, and equals the truth each time', async () => {
    const { p, clock, meter } = await start(startPortal);
    p.portal.fill({
      counts: STUCK,
      newestMs: clock.now() - 2 * DAY,
      oldestMs: clock.now() - 9 * DAY,
    });

    const reports: PollReport[] = [];
    const fullPasses: number[] = [];
    const keysByPoll: string[][] = [];
    for (let i = 0; i < 30; i++) {
      const filters = p.listFilters().length;
      const batches = meter.batches.length;
      const report = await p.poller.poll();
      if (!report.ok) throw new Error(`poll failed: ${report.error?.message}`);
      reports.push(report);
      fullPasses.push(fullPassByName(p.listFilters().slice(filters)));
      keysByPoll.push(meter.batches.slice(batches).flat());
      clock.advance(30_000);
    }

    const namesAt = reports.flatMap((r, i) => (r.refreshed?.includes('names') ? [i] : []));
    expect(namesAt.length).toBeGreaterThanOrEqual(4);
    // the first refresh counts every name in full; every later one only the tail
    expect(fullPasses[namesAt[0]!]).toBeGreaterThan(0);
    for (const i of namesAt.slice(1)) {
      expect(fullPasses[i]).toBe(0);
      expect(tailRefresh(keysByPoll[i]!)).toBe(true);
      const report = reports[i]!;
      expect(report.snapshot!.groups).toEqual(p.portal.truth(report.snapshot!.takenAt).groups);
    }
    expect(fullPasses.reduce((a, b) => a + b, 0)).toBe(fullPasses[namesAt[0]!]);
  });

  it.each([1])(
    'equals the truth at every refresh of the names while a consumer, producers and the retention job change the queue (seed %i; more seeds: planTail.soak.test.ts)',
    (seed) => changingQueueRun(startPortal, seed),
  );
});

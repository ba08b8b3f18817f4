/**
 * A portal that sends no `total` (the documented rule of list methods allows it) does not fail
 * a poll: the scan stops on a short page, and the count strategy, which needs totals, scans
 * instead and says so in the poll's log line. Through the poller over real HTTP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueSnapshot } from '../../src/queue/snapshot.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { scanLogsForSecretsAfterAll } from '../helpers/leaks.js';
import { valueOf } from '../helpers/promText.js';

scanLogsForSecretsAfterAll();

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function plain(snapshot: QueueSnapshot) {
  return {
    groups: Object.fromEntries([...snapshot.groups].sort(([a], [b]) => a.localeCompare(b))),
    olderThan: snapshot.olderThan,
  };
}

async function start(strategy: string, omitListTotal: boolean): Promise<Harness> {
  harness = await startHarness({
    portal: { events: ['ONCRMLEADADD', 'ONCRMDEALADD'], omitListTotal },
    env: { MONITOR_STRATEGY: strategy, MONITOR_SCAN_MAX_ROWS: '50' },
  });
  // 120 rows: pages of 50, 50 and 20
  harness.portal.fill({
    counts: { ONCRMLEADADD: { queued: 90, reserved: 12, error: 8 }, ONCRMDEALADD: { queued: 10 } },
  });
  return harness;
}

describe('a portal that sends no total', () => {
  it.each([
    ['scan', undefined],
    ['count', 'scan'],
    // auto counts at every depth: without totals it falls back to a scan as count does
    ['auto', 'scan'],
  ])(
    'strategy %s: the poll succeeds, exact, and its log line says how',
    async (strategy, fallback) => {
      const h = await start(strategy, true);

      const [report] = await h.monitor.pollOnce();
      const samples = await h.scrape();

      expect(report?.error?.message).toBeUndefined();
      expect(report?.ok).toBe(true);
      const truth = h.portal.truth(report!.snapshot!.takenAt);
      expect(plain(report!.snapshot!)).toEqual(plain(truth));
      expect(report?.snapshot?.depth).toBe(120);
      expect(valueOf(samples, 'b24_offline_queue_depth', { portal: 'portal' })).toBe(120);
      const [line] = h.log.find('Poll finished');
      expect(line).toMatchObject({ strategy: 'scan', depth: 120, totalMissing: true });
      expect(line?.['fallback']).toBe(fallback);
    },
  );

  it('the scan stops on a short page: one request per page, none after it', async () => {
    const h = await start('scan', true);

    const [report] = await h.monitor.pollOnce();

    expect(report?.ok).toBe(true);
    expect(report?.requests).toBe(3);
  });

  it('the count strategy does not try counting again at the next poll', async () => {
    const h = await start('count', true);
    await h.monitor.pollOnce();

    const [second] = await h.monitor.pollOnce();

    expect(second?.ok).toBe(true);
    expect(second).toMatchObject({ strategy: 'scan', fallback: 'scan', requests: 3 });
  });

  it('with totals, the poll line has neither field', async () => {
    const h = await start('count', false);

    const [report] = await h.monitor.pollOnce();

    expect(report?.ok).toBe(true);
    const [line] = h.log.find('Poll finished');
    expect(line).toMatchObject({ strategy: 'count' });
    expect(line).not.toHaveProperty('fallback');
    expect(line).not.toHaveProperty('totalMissing');
  });
});

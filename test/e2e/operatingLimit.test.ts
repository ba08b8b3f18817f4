/**
 * OPERATION_TIME_LIMIT through the poller over real HTTP. Inside a batch it arrives per
 * command, and a 429 carries no `time`: the reset comes from the last good answer. A reset
 * within the poll's deadline is waited for; a later one makes the portal's polls skip (no
 * request) until then, each counted with reason `operating_limit`, the queue gauges kept
 * until they are stale.
 *
 * `Date.now` runs ahead on demand (the simulator's clock and the monitor's both read it), so
 * a ten-minute window passes in an instant.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useClockAhead } from '../helpers/clock.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { scanLogsForSecretsAfterAll } from '../helpers/leaks.js';
import { valueOf } from '../helpers/promText.js';

scanLogsForSecretsAfterAll();

const PORTAL = 'portal';
const clock = useClockAhead();
let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Each call costs 1 s of a 1 s budget: one poll uses up event.get and event.offline.list. */
async function start(windowSec: number, rows = 10): Promise<Harness> {
  harness = await startHarness({
    portal: {
      events: ['ONCRMLEADADD'],
      operatingLimit: { limitSec: 1, windowSec, extraCostSec: rows > 50 ? 5 : 1 },
    },
    env: { MONITOR_STRATEGY: 'scan', MONITOR_STALE_AFTER: '60000' },
  });
  harness.portal.fill({ counts: { ONCRMLEADADD: { queued: rows } } });
  return harness;
}

function monitorCalls(h: Harness) {
  return h.portal.journal.list({ holder: 'monitor' });
}

const failures = (samples: Awaited<ReturnType<Harness['scrape']>>) =>
  valueOf(samples, 'b24_offline_poll_failures_total', {
    portal: PORTAL,
    reason: 'operating_limit',
  });

describe('OPERATION_TIME_LIMIT per command inside a batch', () => {
  it('waits for the reset when the poll deadline allows, and the poll succeeds', async () => {
    const h = await start(3);
    const [first] = await h.monitor.pollOnce();
    const before = monitorCalls(h).length;

    const [second] = await h.monitor.pollOnce();
    const samples = await h.scrape();

    expect(first?.ok).toBe(true);
    expect(second?.error?.message).toBeUndefined();
    expect(second?.ok).toBe(true);
    const calls = monitorCalls(h)
      .slice(before)
      .map((e) => `${e.viaBatch ? 'in batch: ' : ''}${e.method} ${e.status}`);
    // refused per command, sent again after the reset
    expect(calls).toEqual(
      expect.arrayContaining([
        'in batch: event.offline.list 429',
        'in batch: event.offline.list 200',
        'in batch: event.get 429',
        'in batch: event.get 200',
      ]),
    );
    expect(calls.filter((c) => c.startsWith('batch'))).toEqual(['batch 200', 'batch 200']);
    expect(failures(samples)).toBe(0);
    expect(valueOf(samples, 'b24_offline_up', { portal: PORTAL })).toBe(1);
  });

  it('past the deadline: fails with operating_limit, then skips polls until the reset, gauges kept then stale', async () => {
    const h = await start(600);
    const [first] = await h.monitor.pollOnce();

    const [limited] = await h.monitor.pollOnce();
    const calls = monitorCalls(h).length;
    const [skipped] = await h.monitor.pollOnce();
    const during = await h.scrape();

    expect(first?.ok).toBe(true);
    expect(limited).toMatchObject({ ok: false, error: { reason: 'operating_limit' } });
    expect(skipped).toMatchObject({ ok: false, skipped: 'operating_limit', requests: 0 });
    expect(monitorCalls(h).length).toBe(calls); // not a single request while limited
    expect(failures(during)).toBe(2);
    expect(valueOf(during, 'b24_offline_up', { portal: PORTAL })).toBe(0);
    expect(valueOf(during, 'b24_offline_queue_depth', { portal: PORTAL })).toBe(10);
    const [line] = h.log.lines.filter((l) => l.msg.startsWith('Poll failed'));
    expect(line).toMatchObject({ level: 'warn', reason: 'operating_limit', reauthorize: false });
    expect(line?.msg).toMatch(/operating time is used up until its reset/);
    // the reset the portal gave with the last good answer, about ten minutes ahead
    const until = Date.parse(String(line?.['operatingUntil']));
    expect(until - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(h.log.find('Poll skipped: operating time used up until its reset')).toEqual([
      expect.objectContaining({ level: 'warn', reason: 'operating_limit' }),
    ]);

    // the stale limit passes before the reset: the gauges go
    clock.advance(2 * 60_000);
    const stale = await h.scrape();
    expect(valueOf(stale, 'b24_offline_queue_depth', { portal: PORTAL })).toBeUndefined();

    // after the reset, polls run again
    clock.advance(9 * 60_000);
    const [after] = await h.monitor.pollOnce();
    expect(after?.ok).toBe(true);
    expect(valueOf(await h.scrape(), 'b24_offline_queue_depth', { portal: PORTAL })).toBe(10);
  });
});

describe('429 OPERATION_TIME_LIMIT at the top level (no time in the answer)', () => {
  it('takes the reset from the last good answer and skips polls until then', async () => {
    const h = await start(600, 120);

    const [limited] = await h.monitor.pollOnce();
    const calls = monitorCalls(h).length;
    const [skipped] = await h.monitor.pollOnce();

    expect(limited).toMatchObject({
      ok: false,
      error: { reason: 'operating_limit', apiCode: 'OPERATION_TIME_LIMIT', statusCode: 429 },
    });
    const resetAt = (limited?.error as { operatingResetAt?: number }).operatingResetAt;
    expect((resetAt ?? 0) * 1000 - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(skipped).toMatchObject({ ok: false, skipped: 'operating_limit', requests: 0 });
    expect(monitorCalls(h).length).toBe(calls);
  });
});

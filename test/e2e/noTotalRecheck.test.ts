/**
 * After a count answered without `total`, the count strategy scans for an hour, then counts
 * again (poll/reader.ts): a portal that sends totals again is counted again, one that never
 * does costs one count attempt an hour. Through the poller over real HTTP, on the portal's clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/sim/index.js';
import { startPlanPortal, type PlanPortal } from '../helpers/planPortal.js';

let open: PlanPortal | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

const MINUTE = 60_000;

describe('the count strategy after a missing total', () => {
  it('scans for an hour, then counts again', async () => {
    const clock = new ManualClock();
    const p = (open = await startPlanPortal({
      clock,
      portal: { omitListTotal: true },
      poller: { strategy: 'count' },
    }));
    // more rows than a page holds: no page can stand in for the missing totals
    p.portal.fill({ counts: { ONCRMLEADADD: { queued: 90, reserved: 12, error: 8 } } });

    const first = await p.poller.poll();
    p.portal.omitListTotal = false;
    clock.advance(59 * MINUTE);
    const withinTheHour = await p.poller.poll();
    clock.advance(MINUTE);
    const afterTheHour = await p.poller.poll();

    expect(first).toMatchObject({ ok: true, strategy: 'scan', fallback: 'scan' });
    expect(withinTheHour).toMatchObject({ ok: true, strategy: 'scan', fallback: 'scan' });
    expect(afterTheHour).toMatchObject({ ok: true, strategy: 'count' });
    expect(afterTheHour.fallback).toBeUndefined();
    expect(afterTheHour.counts).toEqual({ queued: 90, reserved: 12, error: 8 });
  });
});

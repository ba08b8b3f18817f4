/**
 * MONITOR_MAX_EVENT_NAMES reaches the poller: past the cap, names share the `other` series and
 * the sum over names still equals the depth.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { valueOf } from '../helpers/promText.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('MONITOR_MAX_EVENT_NAMES', () => {
  it.each(['scan', 'count'])('caps the names with series of their own (%s)', async (strategy) => {
    harness = await startHarness({
      env: { MONITOR_MAX_EVENT_NAMES: '2', MONITOR_STRATEGY: strategy },
    });
    harness.portal.fill({
      counts: {
        ONA: { queued: 1 },
        ONB: { queued: 2 },
        ONC: { queued: 3, error: 1 },
        [`ON${'X'.repeat(200)}`]: { queued: 4 },
      },
    });

    await harness.monitor.pollOnce();
    const samples = await harness.scrape();

    const events = samples.filter((s) => s.name === 'b24_offline_events');
    const names = new Set(events.map((s) => s.labels['event_name']));
    expect(names.size).toBe(3);
    expect(names.has('other')).toBe(true);
    expect(
      Math.max(...events.map((s) => (s.labels['event_name'] ?? '').length)),
    ).toBeLessThanOrEqual(128);
    const total = events.reduce((sum, s) => sum + s.value, 0);
    expect(total).toBe(valueOf(samples, 'b24_offline_queue_depth', { portal: 'portal' }));
    expect(total).toBe(11);
  });
});

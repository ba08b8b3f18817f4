/**
 * `auth_connector` through the poller over real HTTP, on a portal that follows the server's
 * rule: the connector is read from the top level of the request only (inside `batch` a
 * command's own is ignored). The queue is split between two connectors and the queue without
 * connector; each monitor must see exactly the queue it watches, with every strategy, and make
 * series only for the event names bound for that queue.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueSnapshot } from '../../src/queue/snapshot.js';
import type { SimPortal } from '../../src/sim/index.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { scanLogsForSecretsAfterAll } from '../helpers/leaks.js';
import { select, valueOf } from '../helpers/promText.js';

scanLogsForSecretsAfterAll();

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const DAY = 86_400_000;

/**
 * No connector: 330 rows of ONCRMLEADADD (bound there). c1: 182 rows, ONCRMDEALADD and
 * ONTASKADD bound for it (ONTASKADD has no row) and ONCRMLEADADD rows it did not bind. c2: 90
 * rows, ONUSERADD bound for it only.
 */
function split(portal: SimPortal): void {
  portal.bind('ONCRMDEALADD', { connector: 'c1' });
  portal.bind('ONTASKADD', { connector: 'c1' });
  portal.bind('ONUSERADD', { connector: 'c2' });
  const nowMs = Date.now();
  const span = { newestMs: nowMs - 2000, oldestMs: nowMs - 9 * DAY };
  portal.fill({ counts: { ONCRMLEADADD: { queued: 300, reserved: 20, error: 10 } }, ...span });
  portal.fill(
    {
      counts: {
        ONCRMDEALADD: { queued: 150, reserved: 5, error: 7 },
        ONCRMLEADADD: { queued: 20 },
      },
      ...span,
    },
    'c1',
  );
  portal.fill(
    { counts: { ONUSERADD: { queued: 60 }, ONCRMDEALADD: { error: 30 } }, ...span },
    'c2',
  );
}

function plain(snapshot: QueueSnapshot) {
  return {
    depth: snapshot.depth,
    groups: Object.fromEntries([...snapshot.groups].sort(([a], [b]) => a.localeCompare(b))),
    olderThan: snapshot.olderThan,
  };
}

const WATCHED = [
  ['c1', ['ONCRMDEALADD', 'ONCRMLEADADD', 'ONTASKADD'], 182],
  ['c2', ['ONCRMDEALADD', 'ONUSERADD'], 90],
  [undefined, ['ONCRMLEADADD'], 330],
] as const;

describe.each(['scan', 'count', 'auto'])('with strategy %s', (strategy) => {
  it.each(WATCHED)(
    'B24_AUTH_CONNECTOR=%s reads that queue only, with series for its own event names',
    async (connector, names, depth) => {
      harness = await startHarness({
        portal: { events: ['ONCRMLEADADD'] },
        env: {
          MONITOR_STRATEGY: strategy,
          // auto counts these queues (all above the bound)
          MONITOR_SCAN_MAX_ROWS: '50',
          ...(connector === undefined ? {} : { B24_AUTH_CONNECTOR: connector }),
        },
      });
      split(harness.portal);

      const [report] = await harness.monitor.pollOnce();
      const samples = await harness.scrape();

      expect(report?.error?.message).toBeUndefined();
      expect(report?.ok).toBe(true);
      const truth = harness.portal.truth(report!.snapshot!.takenAt, connector ?? '');
      expect(truth.depth).toBe(depth);
      expect(plain(report!.snapshot!)).toEqual(plain(truth));
      expect(valueOf(samples, 'b24_offline_queue_depth', { portal: 'portal' })).toBe(depth);
      const seriesNames = new Set(
        select(samples, 'b24_offline_events', { portal: 'portal' }).map(
          (s) => s.labels['event_name'],
        ),
      );
      expect([...seriesNames].sort()).toEqual([...names]);
    },
  );
});

describe('a plan without connectors', () => {
  it('fails the poll with reason license and a line that names the plan, not a new authorization', async () => {
    harness = await startHarness({
      portal: { events: ['ONCRMLEADADD'], connectorsAllowed: false },
      env: { B24_AUTH_CONNECTOR: 'c1' },
    });

    const [report] = await harness.monitor.pollOnce();
    const samples = await harness.scrape();

    expect(report?.ok).toBe(false);
    expect(report?.error).toMatchObject({ reason: 'license', apiCode: 'WRONG_LICENSE' });
    expect(
      valueOf(samples, 'b24_offline_poll_failures_total', { portal: 'portal', reason: 'license' }),
    ).toBe(1);
    const [line] = harness.log.lines.filter((l) => l.msg.startsWith('Poll failed'));
    expect(line).toMatchObject({ level: 'error', reason: 'license', reauthorize: false });
    expect(line?.msg).toMatch(/plan lacks connectors \(Professional and above\)/);
    expect(line?.msg).not.toMatch(/re-authoriz/);
  });
});

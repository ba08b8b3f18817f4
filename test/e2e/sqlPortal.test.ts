/**
 * The monitor against the SQL-backed portal: the same poll as against the in-memory one, but
 * every list answered by MariaDB, so the count strategy's inferences (`>PROCESS_ID ""` for
 * reserved rows, totals by filter) are checked against a real database's semantics.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ManualClock, parseOffset } from '../../src/sim/index.js';
import { SqlQueue, copyQueue, startMariaDb } from '../../src/sim/sql/index.js';
import type { MariaDb } from '../../src/sim/sql/index.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { describeWithMariaDb } from '../helpers/mariadb.js';
import { costed, type Costed } from '../helpers/costed.js';
import { startPlanPortal, type PlanPortal } from '../helpers/planPortal.js';

const EVENTS = ['ONCRMLEADADD', 'ONCRMDEALUPDATE', 'ONTASKADD'];

describeWithMariaDb('a poll of the SQL-backed portal', () => {
  let db: MariaDb;
  let harness: Harness | undefined;
  let plan: PlanPortal | undefined;
  let queue: SqlQueue | undefined;
  let appId = 0;

  beforeAll(async () => {
    db = await startMariaDb({ bufferPoolMb: 64 });
  }, 60_000);

  afterEach(async () => {
    await harness?.close();
    await plan?.close();
    await queue?.close();
    harness = undefined;
    plan = undefined;
    queue = undefined;
  });

  afterAll(async () => {
    await db?.stop();
  });

  it.each(['count', 'scan'])(
    '%s: the snapshot equals the ground truth of the rows in MariaDB',
    async (strategy) => {
      queue = await SqlQueue.open({
        socket: db.socket,
        appId: ++appId,
        offsetMinutes: parseOffset('+03:00'),
      });
      harness = await startHarness({
        // IDs of their own: one table holds every app's rows
        portal: { events: EVENTS, listBackend: queue, firstId: appId * 100_000 },
        env: { MONITOR_STRATEGY: strategy },
        http: false,
      });
      const now = Date.now();
      harness.portal.fill({
        counts: {
          ONCRMLEADADD: { queued: 180, reserved: 40, error: 20 },
          ONCRMDEALUPDATE: { queued: 30, error: 5 },
          ONTASKADD: { reserved: 3 },
          ONUNBOUNDEVENT: { queued: 2 },
        },
        newestMs: now - 1_000,
        oldestMs: now - 3 * 86_400_000,
      });
      await copyQueue(harness.portal.queue(), queue);

      // count: the later polls find the unbound name, count every name one by one, then
      // take each status's last name by difference; every poll must equal the truth
      const polls = strategy === 'count' ? 4 : 1;
      for (let i = 0; i < polls; i++) {
        const [report] = await harness.monitor.pollOnce();

        expect(report?.error).toBeUndefined();
        expect(report?.ok).toBe(true);
        const snapshot = report?.snapshot;
        expect(snapshot?.depth).toBe(280);
        expect(snapshot).toEqual(harness.portal.truth(snapshot?.takenAt ?? 0));
      }
      expect(queue.work.lists).toBeGreaterThan(0);
    },
  );

  it('count: names from the tail of a static queue equal the ground truth of the rows in MariaDB', async () => {
    queue = await SqlQueue.open({
      socket: db.socket,
      appId: ++appId,
      offsetMinutes: parseOffset('+03:00'),
    });
    const clock = new ManualClock(Date.now());
    const counts = {
      ONCRMLEADADD: { queued: 300, reserved: 60, error: 80 },
      ONCRMDEALUPDATE: { queued: 200, reserved: 55, error: 70 },
      ONTASKADD: { queued: 100, error: 60 },
    };
    let meter: Costed | undefined;
    const timestamps: number[] = [];
    // priced as a large queue (a full pass 0.3 s), so that the plan counts the tail
    plan = await startPlanPortal({
      clock,
      portal: { events: EVENTS, listBackend: queue, firstId: appId * 100_000 },
      wrap: (client) => {
        meter = costed(client, { rows: 925, reserved: 115 }, {}, () => timestamps);
        return meter.client;
      },
    });
    const now = clock.now();
    plan.portal.fill({ counts, newestMs: now - 86_400_000, oldestMs: now - 3 * 86_400_000 });
    plan.portal.queue().forEachLive((row) => timestamps.push(row.timestampMs / 1000));
    await copyQueue(plan.portal.queue(), queue);

    let tail = 0;
    for (let i = 0; i < 24; i++) {
      const from = meter!.batches.length;
      const report = await plan.poller.poll();
      expect(report.error).toBeUndefined();
      const keys = meter!.batches.slice(from).flat();
      if (report.refreshed?.includes('names')) {
        expect(report.snapshot!.groups).toEqual(plan.portal.truth(report.snapshot!.takenAt).groups);
        if (keys.some((k) => k.startsWith('n:t:reserved:'))) tail += 1;
      }
      clock.advance(30_000);
    }
    expect(tail).toBeGreaterThan(0);
  });
});

/**
 * The monitor against the SQL-backed portal: the same poll as against the in-memory one, but
 * every list answered by MariaDB, so the count strategy's inferences (`>PROCESS_ID ""` for
 * reserved rows, totals by filter) are checked against a real database's semantics.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { parseOffset } from '../../src/sim/index.js';
import { SqlQueue, copyQueue, startMariaDb } from '../../src/sim/sql/index.js';
import type { MariaDb } from '../../src/sim/sql/index.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { describeWithMariaDb } from '../helpers/mariadb.js';

const EVENTS = ['ONCRMLEADADD', 'ONCRMDEALUPDATE', 'ONTASKADD'];

describeWithMariaDb('a poll of the SQL-backed portal', () => {
  let db: MariaDb;
  let harness: Harness | undefined;
  let queue: SqlQueue | undefined;
  let appId = 0;

  beforeAll(async () => {
    db = await startMariaDb({ bufferPoolMb: 64 });
  }, 60_000);

  afterEach(async () => {
    await harness?.close();
    await queue?.close();
    harness = undefined;
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
});

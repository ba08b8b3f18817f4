/**
 * Pieces of the tail tests (planTail.test.ts, and more seeds in planTail.soak.test.ts): a plan
 * portal priced as if it held a million rows, and one run of 60 polls on a queue that a
 * consumer, producers and the retention job change at random, each refresh of the names
 * checked against the truth.
 */
import { expect } from 'vitest';
import { ManualClock, type SimPortal } from '../../src/sim/index.js';
import { costed, type Costed } from '../helpers/costed.js';
import type { PlanPortal } from '../helpers/planPortal.js';
import { DAY, names8, STUCK_COUNTS as STUCK, type usePlanPortals } from './planShared.js';

type StartPortal = ReturnType<typeof usePlanPortals>;

/** Rows the portal is priced as if it held a million of (see costed.ts). */
const SIZE = { rows: 20_000, reserved: 800 };

function liveTimestamps(portal: SimPortal): number[] {
  const ts: number[] = [];
  portal.queue().forEachLive((row) => ts.push(row.timestampMs / 1000));
  return ts;
}

export async function start(
  startPortal: StartPortal,
): Promise<{ p: PlanPortal; clock: ManualClock; meter: Costed }> {
  const clock = new ManualClock(Date.now());
  let meter: Costed | undefined;
  // the queue's rows are read at each request, once the portal exists
  const p: PlanPortal = await startPortal({
    clock,
    portal: { events: names8, operatingLimit: null },
    wrap: (client) => {
      meter = costed(client, SIZE, {}, () => liveTimestamps(p.portal));
      return meter.client;
    },
  });
  return { p, clock, meter: meter! };
}

/** Whether the poll counted the names from the tail (no full count's per-name command). */
export function tailRefresh(keys: readonly string[]): boolean {
  return (
    keys.some((k) => k.startsWith('n:t:') && !k.startsWith('n:t:a:')) &&
    !keys.some((k) => k.startsWith('n:') && !k.startsWith('n:t:'))
  );
}

/** A small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const messageId = (i: number) => `M${i}`.padEnd(32, '0');

/** 60 polls of a queue changed at random (seeded); every refresh of the names equals the truth, and both the tail and the full count are taken. */
export async function changingQueueRun(startPortal: StartPortal, seed: number): Promise<void> {
  const { p, clock, meter } = await start(startPortal);
  const next = random(seed);
  const now = clock.now();
  p.portal.fill({ counts: STUCK, newestMs: now - 2 * DAY, oldestMs: now - 40 * DAY });
  // rows with known MESSAGE_IDs, so that repeats can move them
  for (let i = 0; i < 200; i++) {
    p.portal.add({
      eventName: names8[i % 8]!,
      messageId: messageId(i),
      timestampMs: now - 3 * DAY - i * 60_000,
    });
  }
  const queue = p.portal.queue();
  const processes: string[] = [];
  const pick = (n: number) => Math.floor(next() * n);
  const change = () => {
    switch (pick(7)) {
      case 0: // the consumer reserves the oldest rows
        processes.push(queue.reserve(1 + pick(20), { clear: false }).processId);
        break;
      case 1: // it confirms a batch
        if (processes.length > 0) queue.clear(processes.splice(pick(processes.length), 1)[0]!);
        break;
      case 2: // it fails a batch
        if (processes.length > 0) {
          queue.markError(processes.splice(pick(processes.length), 1)[0]!);
        }
        break;
      case 3: // it takes failed rows again
        processes.push(queue.reserve(1 + pick(10), { clear: false, error: true }).processId);
        break;
      case 4: // new events
        change4();
        break;
      case 5: // a repeat of an old event
        p.portal.add({ eventName: names8[0]!, messageId: messageId(pick(200)) });
        break;
      default: // the retention job
        queue.cleanup(clock.now());
    }
  };

  const change4 = () => {
    for (let k = pick(5); k >= 0; k--) p.portal.add({ eventName: names8[pick(8)]! });
  };
  let tail = 0;
  let full = 0;
  for (let i = 0; i < 60; i++) {
    const batches = meter.batches.length;
    const report = await p.poller.poll();
    if (!report.ok) throw new Error(`poll failed: ${report.error?.message}`);
    if (report.refreshed?.includes('names')) {
      const truth = p.portal.truth(report.snapshot!.takenAt);
      expect(report.snapshot!.groups).toEqual(truth.groups);
      if (tailRefresh(meter.batches.slice(batches).flat())) tail += 1;
      else full += 1;
    }
    clock.advance(30_000);
    // producers add rows now and then; the consumer and the rest wake up rarely
    if (next() < 0.3) change4();
    if (next() < 0.12) for (let k = 1 + pick(3); k > 0; k--) change();
  }
  // both ways were taken
  expect(tail).toBeGreaterThan(0);
  expect(full).toBeGreaterThan(0);
}

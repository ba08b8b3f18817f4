/**
 * The count strategy: the queue's figures from the `total`s and first rows of filtered,
 * ordered `event.offline.list` commands in `batch` requests, whatever the depth. The plan
 * (what is asked, when, and what it costs the portal) is in plan.ts.
 */
import { CountPlanner } from './plan.js';
import type { ScanInput } from './offlineList.js';
import type { QueueSnapshot } from '../queue/snapshot.js';

export { isoSeconds } from './headline.js';

/** One poll with every breakdown refreshed (a fresh plan, no budget): the whole snapshot. */
export async function countQueue(input: ScanInput): Promise<QueueSnapshot> {
  const planner = new CountPlanner({ always: true });
  const outcome = await planner.poll({ ...input, nowMs: input.takenAt * 1000 });
  return outcome.snapshot;
}

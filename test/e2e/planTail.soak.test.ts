/**
 * More seeds of planTail.test.ts's changing queue (the fast suite runs seed 1): every refresh
 * of the names, from the tail or in full, equals the truth while a consumer, producers and the
 * retention job change the queue at random.
 */
import { describe, it } from 'vitest';
import { usePlanPortals } from './planShared.js';
import { changingQueueRun } from './planTailCases.js';

const startPortal = usePlanPortals();

describe('names from the tail of a changing queue, more seeds', () => {
  it.each([2, 3, 4, 5, 6, 7, 8, 9, 10, 11])(
    'equals the truth at every refresh of the names (seed %i)',
    (seed) => changingQueueRun(startPortal, seed),
  );
});

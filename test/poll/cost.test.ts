/**
 * The cost model follows what EXPLAIN shows on MariaDB 10.11 (src/poll/cost.ts): which
 * commands read the whole table and which read a range of an index.
 */
import { describe, expect, it } from 'vitest';
import { rowsExamined } from '../../src/poll/cost.js';
import { STATUS_COST } from '../../src/poll/headline.js';

const SIZE = { rows: 1_000_000, reserved: 50_000 };

describe('rowsExamined', () => {
  it('prices queued and error counts (=PROCESS_ID "", IS NULL OR = \'\') as a pass over the table', () => {
    expect(rowsExamined({ cost: STATUS_COST.queued }, SIZE)).toBe(1_000_000);
    expect(rowsExamined({ cost: STATUS_COST.error }, SIZE)).toBe(1_000_000);
  });

  it('prices reserved counts (>PROCESS_ID "") as a range of the PROCESS_ID index', () => {
    expect(rowsExamined({ cost: STATUS_COST.reserved }, SIZE)).toBe(50_000);
  });

  it('prices a narrow TIMESTAMP_X range by its rows, a wide one as if unbounded', () => {
    expect(rowsExamined({ cost: 'all', rangeRows: 25_000 }, SIZE)).toBe(25_000);
    expect(rowsExamined({ cost: 'reserved', rangeRows: 25_000 }, SIZE)).toBe(25_000);
    expect(rowsExamined({ cost: 'all', rangeRows: 100_000 }, SIZE)).toBe(1_000_000);
    expect(rowsExamined({ cost: 'all', rangeRows: 0 }, SIZE)).toBe(50);
    expect(rowsExamined({ cost: 'none' }, SIZE)).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import {
  EventNameBook,
  MAX_EVENT_NAME_LENGTH,
  OTHER_EVENT_NAME,
} from '../../src/poll/eventNames.js';
import { countsByStatus, SnapshotBuilder, type QueueSnapshot } from '../../src/queue/snapshot.js';

const T0 = 1_700_000_000;

/** A snapshot with `rows[name]` queued rows of each name, one error row of the first. */
function snapshot(rows: Record<string, number>, known: Iterable<string> = []): QueueSnapshot {
  const builder = new SnapshotBuilder(T0, known);
  let depth = 0;
  for (const [name, count] of Object.entries(rows)) {
    for (let i = 0; i < count; i++) builder.add(name, 'queued', T0 - 100 - i);
    depth += count;
  }
  return builder.finish(depth);
}

describe('EventNameBook', () => {
  it('gives names past the cap no series of their own: they add up under other', () => {
    const book = new EventNameBook({ cap: 2 });
    const rows = { A: 1, B: 2, C: 3, D: 4 };

    const folded = book.fold(snapshot(rows), new Set(book.known(0)), 0);

    expect([...folded.groups.keys()]).toEqual(['A', 'B', OTHER_EVENT_NAME]);
    expect(folded.groups.get(OTHER_EVENT_NAME)?.queued).toEqual({ count: 7, oldest: T0 - 103 });
    expect(countsByStatus(folded).queued).toBe(folded.depth);
  });

  it('never admits a name longer than the label limit, nor one spelled other', () => {
    const book = new EventNameBook({ cap: 10 });
    const long = 'X'.repeat(MAX_EVENT_NAME_LENGTH + 1);
    const ok = 'Y'.repeat(MAX_EVENT_NAME_LENGTH);

    const folded = book.fold(snapshot({ [long]: 2, [ok]: 1, other: 3 }), new Set(), 0);

    expect([...folded.groups.keys()]).toEqual([ok, OTHER_EVENT_NAME]);
    expect(folded.groups.get(OTHER_EVENT_NAME)?.queued.count).toBe(5);
  });

  it('forgets a name neither bound nor seen for a while, and frees its slot', () => {
    const book = new EventNameBook({ cap: 1, forgetAfterMs: 1000 });
    book.fold(snapshot({ GONE: 1 }), new Set(book.known(0)), 0);
    const asked = new Set(book.known(500));
    // still asked about, with no rows: kept, but not refreshed
    book.fold(snapshot({}, asked), asked, 500);

    expect(book.known(1001)).toEqual([]);
    const folded = book.fold(snapshot({ NEW: 1 }), new Set(), 1001);
    expect([...folded.groups.keys()]).toEqual(['NEW']);
  });

  it('keeps a bound name without rows: event.get brings it back each poll', () => {
    const book = new EventNameBook({ cap: 5, forgetAfterMs: 1000 });
    for (let t = 0; t <= 5000; t += 500) {
      const asked = new Set(book.known(t));
      // the scan adds bound names to what it was asked about
      const folded = book.fold(snapshot({}, [...asked, 'BOUND']), asked, t);
      expect([...folded.groups.keys()]).toEqual(['BOUND']);
    }
  });

  it('remembers at most cap names with 10,000 rotating names', () => {
    const book = new EventNameBook({ cap: 500, forgetAfterMs: 60_000 });
    let t = 0;
    for (let poll = 0; poll < 20; poll++, t += 30_000) {
      const rows = Object.fromEntries(
        Array.from({ length: 500 }, (_, i) => [`N${poll * 500 + i}`, 1]),
      );
      const asked = new Set(book.known(t));
      const folded = book.fold(snapshot(rows, asked), asked, t);

      expect(asked.size).toBeLessThanOrEqual(500);
      expect(folded.groups.size).toBeLessThanOrEqual(501);
      expect(countsByStatus(folded).queued).toBe(500);
    }
  });
});

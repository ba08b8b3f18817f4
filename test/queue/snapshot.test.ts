import { describe, expect, it } from 'vitest';
import { countsByStatus, rowStatus, SnapshotBuilder } from '../../src/queue/snapshot.js';

describe('rowStatus', () => {
  it.each([
    ['', 0, 'queued'],
    ['', 1, 'error'],
    ['a'.repeat(32), 0, 'reserved'],
    ['a'.repeat(32), 1, 'reserved'],
  ] as const)('PROCESS_ID %j, ERROR %i is %s', (processId, error, expected) => {
    expect(rowStatus(processId, error)).toBe(expected);
  });
});

describe('SnapshotBuilder', () => {
  const now = 1_000_000;

  it('counts rows by name and status with the oldest timestamp of each group', () => {
    const builder = new SnapshotBuilder(now, ['ONCRMDEALADD']);

    builder.add('ONCRMLEADADD', 'queued', now - 10);
    builder.add('ONCRMLEADADD', 'queued', now - 30);
    builder.add('ONCRMLEADADD', 'error', now - 5);
    const snapshot = builder.finish(3);

    expect(snapshot.depth).toBe(3);
    expect(snapshot.groups.get('ONCRMLEADADD')).toEqual({
      queued: { count: 2, oldest: now - 30 },
      reserved: { count: 0, oldest: null },
      error: { count: 1, oldest: now - 5 },
    });
    expect(snapshot.groups.get('ONCRMDEALADD')?.queued).toEqual({ count: 0, oldest: null });
    expect(countsByStatus(snapshot)).toEqual({ queued: 2, reserved: 0, error: 1 });
  });

  it('counts a row as older than an age only when strictly more than that many seconds old', () => {
    const builder = new SnapshotBuilder(now);

    builder.add('E', 'reserved', now - 60); // exactly 60: not older than 60
    builder.add('E', 'reserved', now - 61);
    builder.add('E', 'reserved', now - 3601);
    builder.add('E', 'reserved', now - 700_000);
    const { olderThan } = builder.finish(4);

    expect(olderThan.reserved).toEqual({
      60: 3,
      300: 2,
      900: 2,
      3600: 2,
      21600: 1,
      86400: 1,
      604800: 1,
    });
    expect(Object.values(olderThan.queued).every((n) => n === 0)).toBe(true);
  });
});

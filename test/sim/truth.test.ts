/** Ground truth on a known queue. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGE_THRESHOLDS } from '../../src/queue/snapshot.js';
import type { Harness } from './helpers.js';
import { startSim } from './helpers.js';

let sim: Harness;

beforeAll(async () => {
  sim = await startSim();
});

afterAll(async () => {
  await sim.close();
});

describe('truth', () => {
  it('counts rows by name and status, with oldest timestamps and ages', () => {
    const portal = sim.server.addPortal('truth', { events: ['ONCRMLEADADD', 'ONCRMCONTACTADD'] });
    const nowMs = sim.clock.now();
    const nowSec = nowMs / 1000;
    const add = (eventName: string, ageSec: number) =>
      portal.add({ eventName, timestampMs: nowMs - ageSec * 1000 });
    add('ONCRMLEADADD', 30); // queued
    add('ONCRMLEADADD', 400); // queued
    add('ONCRMDEALADD', 7200); // → reserved
    add('ONCRMDEALADD', 90_000); // → error
    add('ONCRMLEADADD', 700_000); // → error
    const queue = portal.queue();
    const idIs = (id: number) => ({
      conditions: [{ field: 'ID' as const, op: '=' as const, values: [id] }],
      key: '',
    });
    queue.reserve(1, { filter: idIs(3), clear: false });
    queue.markError(queue.reserve(1, { filter: idIs(4), clear: false }).processId);
    queue.markError(queue.reserve(1, { filter: idIs(5), clear: false }).processId);

    const truth = portal.truth(nowSec);

    expect(truth.takenAt).toBe(nowSec);
    expect(truth.depth).toBe(5);
    expect(Object.fromEntries(truth.groups)).toEqual({
      ONCRMLEADADD: {
        queued: { count: 2, oldest: nowSec - 400 },
        reserved: { count: 0, oldest: null },
        error: { count: 1, oldest: nowSec - 700_000 },
      },
      ONCRMCONTACTADD: {
        queued: { count: 0, oldest: null },
        reserved: { count: 0, oldest: null },
        error: { count: 0, oldest: null },
      },
      ONCRMDEALADD: {
        queued: { count: 0, oldest: null },
        reserved: { count: 1, oldest: nowSec - 7200 },
        error: { count: 1, oldest: nowSec - 90_000 },
      },
    });
    expect(truth.olderThan).toEqual({
      queued: { 60: 1, 300: 1, 900: 0, 3600: 0, 21600: 0, 86400: 0, 604800: 0 },
      reserved: { 60: 1, 300: 1, 900: 1, 3600: 1, 21600: 0, 86400: 0, 604800: 0 },
      error: { 60: 2, 300: 2, 900: 2, 3600: 2, 21600: 2, 86400: 2, 604800: 1 },
    });
  });

  it('counts a row exactly `age` old as not older than `age`', () => {
    const portal = sim.server.addPortal('truth-edge');
    const nowMs = sim.clock.now();
    for (const age of AGE_THRESHOLDS)
      portal.add({ eventName: 'ONCRMLEADADD', timestampMs: nowMs - age * 1000 });

    const truth = portal.truth(nowMs / 1000);

    expect(Object.values(truth.olderThan.queued)).toEqual([6, 5, 4, 3, 2, 1, 0]);
  });

  it('matches the fill spec of a seeded queue', () => {
    const portal = sim.server.addPortal('truth-fill');
    const counts = {
      ONCRMLEADADD: { queued: 1000, reserved: 120, error: 30 },
      ONCRMDEALUPDATE: { queued: 10, error: 5 },
    };
    const newestMs = sim.clock.now();

    portal.fill({ counts, newestMs, oldestMs: newestMs - 86_400_000 });
    const truth = portal.truth(newestMs / 1000);

    expect(truth.depth).toBe(1165);
    expect(truth.groups.get('ONCRMLEADADD')).toMatchObject({
      queued: { count: 1000 },
      reserved: { count: 120 },
      error: { count: 30 },
    });
    expect(truth.groups.get('ONCRMDEALUPDATE')).toMatchObject({
      queued: { count: 10 },
      reserved: { count: 0, oldest: null },
      error: { count: 5 },
    });
    const olderThan = (age: 3600 | 86400) =>
      truth.olderThan.queued[age] + truth.olderThan.reserved[age] + truth.olderThan.error[age];
    expect(olderThan(86400)).toBe(0); // the oldest row is exactly a day old
    expect(olderThan(3600)).toBeGreaterThanOrEqual(1115); // 23/24 of 1165, spread evenly
    expect(olderThan(3600)).toBeLessThanOrEqual(1118);
  });
});

/**
 * Retention: the portal's daily job deletes reserved rows whose TIMESTAMP_X is older than
 * 2,952,000 s, whenever they were reserved; unreserved and error rows stay. Seen over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROCESS_ID_LIFETIME_SEC } from '../../src/sim/index.js';
import type { Harness } from './helpers.js';
import { idsOf, monitoredPortal, rest, startSim } from './helpers.js';

let sim: Harness;

beforeAll(async () => {
  sim = await startSim();
});

afterAll(async () => {
  await sim.close();
});

const DAY_MS = 86_400_000;
const LIFETIME_MS = PROCESS_ID_LIFETIME_SEC * 1000;

describe('reserved rows expire by the age of TIMESTAMP_X, in a daily job', () => {
  it('deletes a row reserved today whose last change is old; keeps the rest until their day comes', async () => {
    const { portal, token } = monitoredPortal(sim, 'retention', {
      accessTokenTtlSec: 1000 * 86_400, // one token for the whole story
    });
    const call = (method: string, params: Record<string, unknown> = {}) =>
      rest(sim.agent, portal, method, params, { token });
    const t0 = sim.clock.now();
    const at = (ageMs: number) => ({ eventName: 'ONCRMLEADADD', timestampMs: t0 - ageMs });
    portal.add(at(35 * DAY_MS)); // 1: old, reserved below (today)
    portal.add(at(30 * DAY_MS)); // 2: younger, reserved below
    portal.add(at(35 * DAY_MS)); // 3: old, never reserved
    portal.add(at(36 * DAY_MS)); // 4: old, reserved then failed (an error row)
    const failed = await call('event.offline.get', { clear: 0, filter: { ID: 4 } });
    await call('event.offline.error', {
      process_id: (failed.body.result as { process_id: string }).process_id,
    });
    await call('event.offline.get', { clear: 0, filter: { '@ID': [1, 2] } });
    const ids = async () => idsOf(await call('event.offline.list', { start: 0 }));
    const midnight1 = Math.ceil(t0 / DAY_MS) * DAY_MS;
    // row 2 passes the lifetime during some later day; the first run after that deletes it
    const row2Due = Math.ceil((t0 - 30 * DAY_MS + LIFETIME_MS) / DAY_MS) * DAY_MS;

    const sameDay = await ids();
    sim.clock.set(midnight1 - 1);
    const beforeFirstRun = await ids();
    sim.clock.set(midnight1);
    const afterFirstRun = await ids();
    sim.clock.set(row2Due - 1);
    const row2OldButNoRunYet = await ids();
    sim.clock.set(row2Due);
    const afterRow2Run = await ids();
    sim.clock.advance(400 * DAY_MS);
    const muchLater = await ids();

    expect(sameDay).toEqual([1, 2, 3, 4]);
    expect(beforeFirstRun).toEqual([1, 2, 3, 4]);
    expect(afterFirstRun).toEqual([2, 3, 4]);
    expect(row2Due - 1 - (t0 - 30 * DAY_MS)).toBeGreaterThan(LIFETIME_MS);
    expect(row2OldButNoRunYet).toEqual([2, 3, 4]);
    expect(afterRow2Run).toEqual([3, 4]);
    expect(muchLater).toEqual([3, 4]);
  });
});

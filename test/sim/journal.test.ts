/** The journal: who called what, batch commands included, through token rotations. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Journal } from '../../src/sim/index.js';
import type { Harness } from './helpers.js';
import { refreshPair, rest, startSim } from './helpers.js';

let sim: Harness;

beforeAll(async () => {
  sim = await startSim();
});

afterAll(async () => {
  await sim.close();
});

describe('journal', () => {
  it('records every call with its holder, batch commands marked viaBatch', async () => {
    const portal = sim.server.addPortal('journal', { rateLimit: null });
    const monitor = portal.authorize('monitor');
    const consumer = portal.authorize('consumer');
    portal.fill({ counts: { ONCRMLEADADD: { queued: 2 } } });

    await rest(sim.agent, portal, 'event.offline.list', {}, { token: monitor.accessToken });
    await rest(
      sim.agent,
      portal,
      'batch',
      { cmd: { a: 'event.offline.list', b: 'feature.get?CODE=x' } },
      { token: monitor.accessToken },
    );
    await rest(
      sim.agent,
      portal,
      'event.offline.get',
      { clear: 0 },
      { token: consumer.accessToken },
    );
    await rest(sim.agent, portal, 'event.get');

    expect(portal.journal.methodsBy('monitor')).toEqual([
      'event.offline.list',
      'batch',
      'event.offline.list',
      'feature.get',
    ]);
    expect(portal.journal.methodsBy('consumer')).toEqual(['event.offline.get']);
    expect(
      portal.journal
        .list()
        .map(({ method, holder, viaBatch, status }) => [method, holder, viaBatch, status]),
    ).toEqual([
      ['event.offline.list', 'monitor', false, 200],
      ['batch', 'monitor', false, 200],
      ['event.offline.list', 'monitor', true, 200],
      ['feature.get', 'monitor', true, 200],
      ['event.offline.get', 'consumer', false, 200],
      ['event.get', null, false, 401],
    ]);
    expect(portal.journal.list({ portal: 'journal', at: sim.clock.now() })).toHaveLength(6);
  });

  it('keeps the holder through refreshes and on refused calls', async () => {
    const portal = sim.server.addPortal('journal-rotation', { rateLimit: null });
    const pair = portal.authorize('monitor');

    portal.expireAccessTokens();
    await rest(sim.agent, portal, 'event.get', {}, { token: pair.accessToken });
    const renewed = await refreshPair(sim, portal, pair.refreshToken);
    await rest(
      sim.agent,
      portal,
      'event.get',
      {},
      { token: String((renewed.body as Record<string, unknown>)['access_token']) },
    );

    expect(portal.journal.list().map(({ holder, status }) => [holder, status])).toEqual([
      ['monitor', 401],
      ['monitor', 200],
    ]);
  });

  it('keeps only the newest entries beyond its capacity', () => {
    const journal = new Journal(3);

    for (let i = 0; i < 10; i++)
      journal.record({
        portal: 'p',
        method: `m${i}`,
        holder: null,
        viaBatch: false,
        status: 200,
        at: i,
      });

    expect(journal.list().map((entry) => entry.method)).toEqual(['m7', 'm8', 'm9']);
    expect(journal.droppedCount).toBe(7);
  });
});

/** Live traffic: producers inside the portal, the consumer app over HTTP with its own tokens. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimServer, seededRandom, startTraffic } from '../../src/sim/index.js';

let server: SimServer;

beforeAll(async () => {
  server = await SimServer.start();
});

afterAll(async () => {
  await server.close();
});

describe('traffic', () => {
  it('fills the queue with queued, reserved and error rows', async () => {
    const portal = server.addPortal('traffic', { accessTokenTtlSec: 1 });
    const traffic = startTraffic(portal, {
      eventsPerSecond: 400,
      repeatRate: 0.3,
      random: seededRandom(3),
      consumer: {
        intervalMs: 20,
        batchSize: 10,
        failRate: 0.2,
        leaveReservedRate: 0.1,
        retryErrorsEvery: 0,
      },
    });

    await new Promise((resolve) => setTimeout(resolve, 1500));
    await traffic.stop();
    const truth = portal.truth(Date.now() / 1000);
    const total = (status: 'queued' | 'reserved' | 'error') =>
      [...truth.groups.values()].reduce((sum, stats) => sum + stats[status].count, 0);

    expect(total('queued')).toBeGreaterThan(0);
    expect(total('reserved')).toBeGreaterThan(0);
    expect(total('error')).toBeGreaterThan(0);
    expect(traffic.stats.merged).toBeGreaterThan(0);
    expect(traffic.stats.cleared).toBeGreaterThan(0);
    expect(traffic.stats.refreshes).toBeGreaterThan(0);
    expect(truth.groups.size).toBe(5);
    expect(new Set(portal.journal.methodsBy('consumer'))).toEqual(
      new Set(['event.offline.get', 'event.offline.clear', 'event.offline.error']),
    );
  });

  it('stops cleanly without a consumer', async () => {
    const portal = server.addPortal('producers-only');
    const traffic = startTraffic(portal, { eventsPerSecond: 200, consumer: false });

    await new Promise((resolve) => setTimeout(resolve, 200));
    await traffic.stop();
    const produced = traffic.stats.produced;
    await new Promise((resolve) => setTimeout(resolve, 150));

    expect(produced).toBeGreaterThan(10);
    expect(traffic.stats.produced).toBe(produced);
    expect(portal.queue().size).toBe(produced - traffic.stats.merged);
  });
});

import cron from 'node-cron';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { PortalPoller } from '../../src/poll/poller.js';
import { startScheduler } from '../../src/poll/scheduler.js';

describe('startScheduler', () => {
  it('runs 1,000 portals on one schedule from one cron task, each once per tick, spread over the interval', async () => {
    const count = 1000;
    const polledAt: number[][] = Array.from({ length: count }, () => []);
    const controller = new AbortController();
    const tasksBefore = cron.getTasks().size;
    let done: () => void = () => undefined;
    const twoTicks = new Promise<void>((resolve) => (done = resolve));
    // stand-ins: the scheduler only reads a poller's name and calls poll()
    const pollers = Array.from(
      { length: count },
      (_, i) =>
        ({
          name: `portal-${i}`,
          poll: () => {
            (polledAt[i] as number[]).push(performance.now());
            // the last portal's second poll ends the second tick's walk
            if (i === count - 1 && polledAt[i]?.length === 2) done();
            return Promise.resolve(null);
          },
        }) as unknown as PortalPoller,
    );

    const scheduler = startScheduler({
      portals: pollers.map((poller) => ({ poller, schedule: '* * * * * *' })),
      logger: pino({ level: 'silent' }),
      maxConcurrentPolls: 50,
      signal: controller.signal,
    });
    const tasksRunning = cron.getTasks().size - tasksBefore;
    await twoTicks;
    controller.abort();
    await scheduler.stop();

    expect(tasksRunning).toBe(1);
    // two ticks of a 1 s schedule: every portal polled once in each (the third tick may just
    // have started when the second one's walk ended). A late timer may start the last portals
    // of a tick a little after the next tick began: 100 ms of slack; a portal polled twice in
    // one tick still fails (its second poll would come before the second tick began)
    const tickStart = [polledAt[0]?.[0] as number, polledAt[0]?.[1] as number];
    const outside = polledAt.filter(
      (times) =>
        times.length < 2 ||
        times
          .slice(0, 2)
          .some(
            (at, tick) =>
              at < (tickStart[tick] as number) || at >= (tickStart[tick] as number) + 1100,
          ),
    );
    expect(outside).toEqual([]);
    // within a tick, portal i starts about i ms after portal 0: the last one ~1 s later
    const firstTick = polledAt.map((times) => times[0] as number);
    const spanMs = (firstTick[count - 1] as number) - (firstTick[0] as number);
    expect(spanMs).toBeGreaterThan(900);
    expect(spanMs).toBeLessThan(1100);
    const perTenth = new Map<number, number>();
    for (const at of firstTick) {
      const slot = Math.floor((at - (firstTick[0] as number)) / 100);
      perTenth.set(slot, (perTenth.get(slot) ?? 0) + 1);
    }
    // ~100 per tenth of a second; a late timer on a busy machine starts the portals it owes at once
    expect(perTenth.size).toBeGreaterThanOrEqual(8);
    expect(Math.max(...perTenth.values())).toBeLessThan(400);
    // the second tick starts a new walk a second after the first
    const gap = (polledAt[0]?.[1] as number) - (firstTick[0] as number);
    expect(gap).toBeGreaterThan(900);
    expect(cron.getTasks().size - tasksBefore).toBe(0);
  });
});

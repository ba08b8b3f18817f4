import cron from 'node-cron';
import { describe, expect, it } from 'vitest';
import { cronIntervalMs, spreadOffsetMs } from '../../src/poll/scheduler.js';
import { Semaphore } from '../../src/poll/semaphore.js';

describe('spreadOffsetMs', () => {
  it('spreads 1,000 portals evenly over a 30 s interval', () => {
    const offsets = Array.from({ length: 1000 }, (_, i) => spreadOffsetMs(i, 1000, 30_000));

    expect(offsets[0]).toBe(0);
    expect(offsets[1]).toBe(30);
    expect(offsets[999]).toBe(29_970);
    const perSecond = new Map<number, number>();
    for (const offset of offsets)
      perSecond.set(Math.floor(offset / 1000), (perSecond.get(Math.floor(offset / 1000)) ?? 0) + 1);
    expect(perSecond.size).toBe(30);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(34);
  });

  it('does not delay a single portal', () => {
    expect(spreadOffsetMs(0, 1, 30_000)).toBe(0);
  });
});

describe('cronIntervalMs', () => {
  it.each([
    ['*/30 * * * * *', 30_000],
    ['*/5 * * * *', 300_000],
    ['0 * * * *', 3_600_000],
  ])('%s runs every %i ms', async (expression, interval) => {
    const task = cron.createTask(expression, () => undefined);

    expect(cronIntervalMs(task)).toBe(interval);
    await task.destroy();
  });
});

describe('Semaphore', () => {
  it('never runs more tasks at once than its size, and runs them all', async () => {
    const semaphore = new Semaphore(3);
    let running = 0;
    let peak = 0;

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        semaphore.run(async () => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 2));
          running -= 1;
          return i;
        }),
      ),
    );

    expect(peak).toBe(3);
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

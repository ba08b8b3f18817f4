import { describe, expect, it } from 'vitest';
import { AbortedError } from '../../src/b24/errors.js';
import { RateLimiter } from '../../src/b24/rateLimiter.js';
import { fakeClock } from './helpers.js';

describe('RateLimiter', () => {
  it('lets a full bucket of requests through at once, then one per 1/drain seconds', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ capacity: 3, drainPerSecond: 2, clock });

    for (let i = 0; i < 5; i += 1) await limiter.acquire();

    expect(clock.sleeps).toEqual([500, 500]);
  });

  it('refills with time', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ capacity: 2, drainPerSecond: 1, clock });
    await limiter.acquire();
    await limiter.acquire();

    clock.advance(2000);
    await limiter.acquire();
    await limiter.acquire();

    expect(clock.sleeps).toEqual([]);
    expect(limiter.level()).toBe(2);
  });

  it('serves waiters in call order', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ capacity: 1, drainPerSecond: 1, clock });
    const order: number[] = [];

    await Promise.all([0, 1, 2, 3].map((i) => limiter.acquire().then(() => order.push(i))));

    expect(order).toEqual([0, 1, 2, 3]);
    expect(clock.sleeps).toEqual([1000, 1000, 1000]);
  });

  it('rejects an aborted waiter with AbortedError; it takes no room and the queue moves on', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ capacity: 1, drainPerSecond: 1, clock });
    await limiter.acquire();
    const controller = new AbortController();

    const aborted = limiter.acquire(controller.signal);
    const next = limiter.acquire();
    controller.abort();

    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    await expect(next).resolves.toBeUndefined();
    expect(limiter.level()).toBeCloseTo(1);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const limiter = new RateLimiter({ capacity: 1, drainPerSecond: 1, clock: fakeClock() });

    await expect(limiter.acquire(AbortSignal.abort())).rejects.toBeInstanceOf(AbortedError);
    expect(limiter.level()).toBe(0);
  });

  it.each([[{ capacity: 0 }], [{ drainPerSecond: 0 }], [{ drainPerSecond: Number.NaN }]])(
    'refuses options %j',
    (options) => {
      expect(() => new RateLimiter(options)).toThrow(RangeError);
    },
  );
});

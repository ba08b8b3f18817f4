/**
 * Wall time a test can move ahead: `Date.now()` plus what the test added with `advance`, back
 * to real time before each test. For schedules, staleness and resets minutes away, without
 * waiting for them (timers still run in real time).
 */
import { afterEach, beforeEach, vi } from 'vitest';

export function useClockAhead(): { advance(ms: number): void } {
  const realNow = Date.now.bind(Date);
  let aheadMs = 0;
  beforeEach(() => {
    aheadMs = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + aheadMs);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  return {
    advance: (ms) => {
      aheadMs += ms;
    },
  };
}

/**
 * Time as the simulated portal sees it. Every time-dependent rule (token expiry, the rate
 * bucket, operating-time windows, reservation expiry, `TIMESTAMP_X` of new events) reads an
 * injected clock, so tests can jump hours ahead without sleeping.
 */
export interface Clock {
  /** Unix time in milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  private ms: number;

  /** @param startMs Unix ms. @default 2024-07-18T09:32:31Z */
  constructor(startMs: number = Date.UTC(2024, 6, 18, 9, 32, 31)) {
    this.ms = startMs;
  }

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }

  set(ms: number): void {
    this.ms = ms;
  }
}

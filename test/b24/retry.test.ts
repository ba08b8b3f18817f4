import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  ApiError,
  AuthError,
  BadResponseError,
  ForbiddenMethodError,
  NetworkError,
  TimeoutError,
  TokenStoreError,
} from '../../src/b24/errors.js';
import { decideRetry, retryClass } from '../../src/b24/retry.js';
import { reasonFor } from '../../src/b24/errorReasons.js';

const NOW = 1_700_000_000_000;

function api(status: number, code: string, operatingResetAt?: number): ApiError {
  return new ApiError('event.offline.list', status, code, '', reasonFor(code, status), {
    operatingResetAt,
  });
}

describe('retryClass', () => {
  it.each([
    [api(503, 'QUERY_LIMIT_EXCEEDED'), 'query_limit'],
    [api(429, 'OPERATION_TIME_LIMIT'), 'operating_limit'],
    [api(500, 'INTERNAL_SERVER_ERROR'), 'transient'],
    [api(500, 'ERROR_UNEXPECTED_ANSWER'), 'transient'],
    [api(502, 'HTTP_502'), 'transient'],
    [api(504, 'HTTP_504'), 'transient'],
    [new NetworkError('ECONNRESET', 'x'), 'transient'],
    [new NetworkError('ECONNREFUSED', 'x'), 'transient'],
    [new NetworkError('UND_ERR_SOCKET', 'x'), 'transient'],
    [new NetworkError('SOCKET_HANG_UP', 'x'), 'transient'],
    [new TimeoutError('x'), 'transient'],
    [api(503, 'OVERLOAD_LIMIT'), 'fatal'],
    [api(500, 'PORTAL_DELETED'), 'fatal'],
    [api(400, 'ERROR_ARGUMENT'), 'fatal'],
    [api(401, 'NO_AUTH_FOUND'), 'fatal'],
    [api(403, 'ACCESS_DENIED'), 'fatal'],
    [api(404, 'HTTP_404'), 'fatal'],
    [new NetworkError('ENOTFOUND', 'x'), 'fatal'],
    [new AuthError('invalid_grant', 'x'), 'fatal'],
    [new BadResponseError('m', 'x'), 'fatal'],
    [new ForbiddenMethodError('event.offline.get'), 'fatal'],
    [new TokenStoreError('x'), 'fatal'],
    [new AbortedError(), 'fatal'],
    [new Error('x'), 'fatal'],
  ])('%s is %s', (error, expected) => {
    expect(retryClass(error)).toBe(expected);
  });
});

describe('decideRetry', () => {
  const base = { now: NOW, random: 0.5 };

  it.each([
    // (1000 / drain + 1000) x 1.5^attempt, drain 2/s
    [0, 1500],
    [1, 2250],
    [2, 3375],
  ])('backs off QUERY_LIMIT_EXCEEDED, attempt %i: %i ms', (attempt, delayMs) => {
    const decision = decideRetry({
      ...base,
      attempt,
      error: api(503, 'QUERY_LIMIT_EXCEEDED'),
      policy: { drainPerSecond: 2 },
    });

    expect(decision).toEqual({ retry: true, delayMs, retryClass: 'query_limit' });
  });

  it.each([
    [0, 1000],
    [1, 2000],
    [2, 4000],
    [4, 16_000],
    [5, 30_000],
    [9, 30_000],
  ])(
    'backs off transient errors 1 s x 2^attempt capped at 30 s: attempt %i, %i ms',
    (attempt, delayMs) => {
      const decision = decideRetry({
        ...base,
        attempt,
        error: new NetworkError('ECONNRESET', 'x'),
        policy: { maxRetries: 10, maxWaitMs: 60_000 },
      });

      expect(decision).toEqual({ retry: true, delayMs, retryClass: 'transient' });
    },
  );

  it.each([
    [0, 900],
    [0.999_999, 1100],
  ])('jitters by ±10 %%: random %d gives %i ms', (random, delayMs) => {
    const decision = decideRetry({ ...base, random, attempt: 0, error: new TimeoutError('x') });

    expect(decision).toMatchObject({ retry: true, delayMs });
  });

  it('waits for operating_reset_at after 429', () => {
    const decision = decideRetry({
      ...base,
      attempt: 0,
      error: api(429, 'OPERATION_TIME_LIMIT'),
      operatingResetAt: NOW / 1000 + 12,
      deadline: NOW + 20_000,
    });

    expect(decision).toEqual({ retry: true, delayMs: 12_000, retryClass: 'operating_limit' });
  });

  it('waits at least 1 s after 429 even when the reset is past', () => {
    const decision = decideRetry({
      ...base,
      attempt: 0,
      error: api(429, 'OPERATION_TIME_LIMIT'),
      operatingResetAt: NOW / 1000 - 5,
    });

    expect(decision).toMatchObject({ retry: true, delayMs: 1000 });
  });

  it('gives up on 429 when the reset is after the deadline', () => {
    const decision = decideRetry({
      ...base,
      attempt: 0,
      error: api(429, 'OPERATION_TIME_LIMIT'),
      operatingResetAt: NOW / 1000 + 300,
      deadline: NOW + 25_000,
    });

    expect(decision).toEqual({ retry: false, retryClass: 'operating_limit' });
  });

  it('waits the fallback after 429 when no reset time is known', () => {
    const decision = decideRetry({ ...base, attempt: 0, error: api(429, 'OPERATION_TIME_LIMIT') });

    expect(decision).toMatchObject({ retry: true, delayMs: 10_000 });
  });

  it('without a deadline, does not start a wait longer than maxWaitMs', () => {
    const decision = decideRetry({
      ...base,
      attempt: 0,
      error: api(429, 'OPERATION_TIME_LIMIT'),
      operatingResetAt: NOW / 1000 + 31,
    });

    expect(decision.retry).toBe(false);
  });

  it.each([0, 1, 2])('retries attempt %i of 3, not the fourth', (attempt) => {
    const error = new NetworkError('ECONNRESET', 'x');

    expect(decideRetry({ ...base, attempt, error }).retry).toBe(true);
    expect(decideRetry({ ...base, attempt: 3, error }).retry).toBe(false);
  });

  it('honours a configured maxRetries', () => {
    const error = new TimeoutError('x');

    expect(decideRetry({ ...base, attempt: 0, error, policy: { maxRetries: 0 } }).retry).toBe(
      false,
    );
  });

  it.each([
    api(503, 'OVERLOAD_LIMIT'),
    api(500, 'PORTAL_DELETED'),
    api(401, 'NO_AUTH_FOUND'),
    new BadResponseError('m', 'x'),
  ])('does not retry %s', (error) => {
    expect(decideRetry({ ...base, attempt: 0, error })).toMatchObject({ retry: false });
  });
});

/**
 * When a portal is left alone after a failure. The poller's side (no request sent, the skipped
 * poll's report and metrics) is in test/e2e/operatingLimit.test.ts and the fault matrix.
 */
import { describe, expect, it } from 'vitest';
import { ApiError, MonitorError, TimeoutError } from '../../src/b24/errors.js';
import { PortalPauses } from '../../src/poll/pauses.js';

const NOW = 1_700_000_000_000;

function operatingLimit(resetAt?: number): ApiError {
  return new ApiError('batch', 503, 'OPERATION_TIME_LIMIT', '', 'operating_limit', {
    operatingResetAt: resetAt,
  });
}

describe('PortalPauses', () => {
  it('holds nothing before a failure', () => {
    expect(new PortalPauses().holding(NOW)).toBeUndefined();
  });

  it('pauses 15 minutes after OVERLOAD_LIMIT', () => {
    const pauses = new PortalPauses();

    pauses.failed(new ApiError('batch', 503, 'OVERLOAD_LIMIT', '', 'rate_limit'), NOW);

    expect(pauses.pausedUntil).toBe(NOW + 15 * 60_000);
    expect(pauses.holding(NOW + 15 * 60_000 - 1)).toBe('paused');
    expect(pauses.holding(NOW + 15 * 60_000)).toBeUndefined();
  });

  it('holds until the operating reset the portal named', () => {
    const pauses = new PortalPauses();
    const resetAt = NOW / 1000 + 200;

    pauses.failed(operatingLimit(resetAt), NOW);

    expect(pauses.operatingUntil).toBe(resetAt * 1000);
    expect(pauses.holding(resetAt * 1000 - 1)).toBe('operating_limit');
    expect(pauses.holding(resetAt * 1000)).toBeUndefined();
  });

  it.each([
    ['no reset', undefined],
    ['a reset already past', NOW / 1000 - 5],
  ])('holds a minute after the operating limit with %s', (_, resetAt) => {
    const pauses = new PortalPauses();

    pauses.failed(operatingLimit(resetAt), NOW);

    expect(pauses.operatingUntil).toBe(NOW + 60_000);
  });

  it('is not moved by other failures', () => {
    const pauses = new PortalPauses();

    pauses.failed(new TimeoutError('slow'), NOW);
    pauses.failed(new MonitorError('B24_INTERNAL', 'bad_response', 'odd'), NOW);
    pauses.failed(new ApiError('batch', 500, 'INTERNAL_SERVER_ERROR', '', 'api_error'), NOW);

    expect(pauses.holding(NOW)).toBeUndefined();
    expect([pauses.pausedUntil, pauses.operatingUntil]).toEqual([0, 0]);
  });
});

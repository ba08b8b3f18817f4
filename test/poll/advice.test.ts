/**
 * The failure line's advice for codes the fault matrix (test/hardening/faults.test.ts) does not
 * inject through the poller, and the rule that holds for all: the message asks for a new
 * authorization exactly when that is the fix.
 */
import { describe, expect, it } from 'vitest';
import {
  ApiError,
  AuthError,
  FAILURE_REASONS,
  MonitorError,
  TokenStoreError,
} from '../../src/b24/errors.js';
import { reasonFor } from '../../src/b24/errorReasons.js';
import { adviceFor } from '../../src/poll/advice.js';

function api(status: number, code: string): ApiError {
  return new ApiError('batch', status, code, '', reasonFor(code, status));
}

describe('adviceFor', () => {
  it.each([
    [new AuthError('invalid_client', 'x'), /check B24_CLIENT_ID and B24_CLIENT_SECRET/, false],
    [new AuthError('NO_REFRESH_TOKEN', 'x'), /no refresh token/, true],
    [new AuthError('invalid_token', 'x'), /freshly refreshed token/, true],
    [api(401, 'NO_AUTH_FOUND'), /does not know the token: check B24_PORTAL_URL/, true],
    [api(403, 'INVALID_CREDENTIALS'), /lacks rights/, true],
    [api(403, 'user_access_error'), /no access to the application/, false],
    [api(200, 'ACCESS_DENIED'), /not an administrator/, true],
    [api(401, 'HTTP_401'), /refused the token/, true],
    [api(403, 'HTTP_403'), /refused access/, false],
    [new TokenStoreError('x'), /token file unusable/, false],
  ])('%s: %s', (error, message, reauthorize) => {
    const advice = adviceFor(error);

    expect(advice.message).toMatch(/^Poll failed: /);
    expect(advice.message).toMatch(message);
    expect(advice.reauthorize).toBe(reauthorize);
    expect(/re-authoriz/.test(advice.message)).toBe(reauthorize);
    expect(advice.level).toBe('error');
  });

  it.each(FAILURE_REASONS)('has a message for reason %s', (reason) => {
    const advice = adviceFor(new MonitorError('X', reason, 'x'));

    expect(advice.message).toMatch(/^Poll failed/);
    expect(/re-authoriz/.test(advice.message)).toBe(advice.reauthorize);
  });
});

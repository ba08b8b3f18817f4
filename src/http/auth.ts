/** Optional protection of `/metrics` and `/`: a bearer token or basic auth, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { HttpAuthConfig } from '../config/types.js';

function sameSecret(given: string, expected: string): boolean {
  // Hash first so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** True when the request may see protected pages. */
export function isAuthorized(request: IncomingMessage, auth: HttpAuthConfig | undefined): boolean {
  if (auth === undefined || (auth.bearerToken === undefined && auth.basic === undefined))
    return true;
  const header = request.headers.authorization ?? '';
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer' && auth.bearerToken !== undefined)
    return sameSecret(value, auth.bearerToken);
  if (scheme === 'basic' && auth.basic !== undefined) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const userOk = sameSecret(decoded.slice(0, colon), auth.basic.username);
    const passwordOk = sameSecret(decoded.slice(colon + 1), auth.basic.password);
    return userOk && passwordOk;
  }
  return false;
}

export function challenge(auth: HttpAuthConfig | undefined): string {
  return auth?.basic !== undefined
    ? 'Basic realm="b24-offline-monitor", charset="UTF-8"'
    : 'Bearer';
}

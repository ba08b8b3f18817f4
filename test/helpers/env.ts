/** The configuration variables that point a monitor at a simulated portal. */
import { SimServer, type SimPortal } from '../../src/sim/index.js';

export interface PortalEnvOptions {
  readonly refreshToken: string;
  readonly tokenFile: string;
  readonly accessToken?: string;
  /** B24_PORTAL_NAME; none = the loader's default (the URL's host). */
  readonly name?: string;
}

export function portalEnv(
  sim: SimServer,
  portal: SimPortal,
  options: PortalEnvOptions,
): Record<string, string> {
  return {
    B24_PORTAL_URL: portal.restUrl,
    ...(options.name === undefined ? {} : { B24_PORTAL_NAME: options.name }),
    B24_CLIENT_ID: portal.clientId,
    B24_CLIENT_SECRET: portal.clientSecret,
    B24_REFRESH_TOKEN: options.refreshToken,
    ...(options.accessToken === undefined ? {} : { B24_ACCESS_TOKEN: options.accessToken }),
    B24_OAUTH_URL: sim.oauthUrl,
    B24_TOKEN_FILE: options.tokenFile,
  };
}

/**
 * The simulated portal the process tests share: `acme`, no rate limit, one event name
 * (ONCRMLEADADD) with these rows. Close `sim` after the file.
 */
export async function startAcme(rows: {
  queued: number;
  error?: number;
  reserved?: number;
}): Promise<{ sim: SimServer; portal: SimPortal }> {
  const sim = await SimServer.start();
  const portal = sim.addPortal('acme', { rateLimit: null, events: ['ONCRMLEADADD'] });
  portal.fill({ counts: { ONCRMLEADADD: rows } });
  return { sim, portal };
}

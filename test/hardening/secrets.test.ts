/**
 * Secrets, through the real CLI: `/metrics` and `/` behind a bearer token or basic auth
 * (configured from the environment or the config file), `/healthz` and `/readyz` open; a
 * config file holding secrets that others can read gets a warning at start; and no token,
 * client secret, password or bearer token appears in anything the processes print or serve.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { SimServer } from '../../src/sim/index.js';
import { type SimPortal } from '../../src/sim/index.js';
import { issuedSecrets } from '../helpers/harness.js';
import { jsonLines, logLine, withMsg, type Running } from '../helpers/processes.js';
import { scanTextsForSecretsAfterAll, startMonitorCli, watchTokens } from './support.js';
import { portalEnv, startAcme } from '../helpers/env.js';

const BEARER = 'bearer-Tq8wXz3Lm5Rv9Kp2';
const USER = 'prometheus';
const PASSWORD = 'basic-pw-Fj4Nd7Hs1Gc6';
/** Everything served over HTTP, for the leak scan. */
const served: string[] = [];

scanTextsForSecretsAfterAll(served, () => [portal.clientSecret, BEARER, PASSWORD]);

let sim: SimServer;
let portal: SimPortal;
let dir: string;

beforeAll(async () => {
  ({ sim, portal } = await startAcme({ queued: 5, error: 1 }));
  watchTokens(sim);
  dir = await mkdtemp(join(tmpdir(), 'b24-secrets-'));
});

afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

function daemonEnv(name: string): Record<string, string> {
  const seed = portal.authorize('monitor');
  issuedSecrets.add(seed.refreshToken).add(seed.accessToken);
  return {
    ...portalEnv(sim, portal, {
      refreshToken: seed.refreshToken,
      tokenFile: join(dir, `${name}.tokens.json`),
      name: 'acme',
    }),
    MONITOR_LISTEN: '127.0.0.1:0',
    MONITOR_SCHEDULE: '*/5 * * * * *',
  };
}

/** Starts the daemon and waits until it is ready (its first poll done); returns its base URL. */
async function startDaemon(env: Record<string, string>): Promise<{ run: Running; url: string }> {
  const run = await startMonitorCli(['start'], env);
  const started = await logLine(run, withMsg('Monitor started'), 'the start');
  await logLine(run, withMsg('Poll finished'), 'the first poll');
  return { run, url: String(started['url']) };
}

async function stop(run: Running): Promise<string> {
  run.child.kill('SIGTERM');
  const finished = await run.exited;
  expect(finished.code).toBe(0);
  return finished.stdout;
}

async function get(
  url: string,
  authorization?: string,
): Promise<{ status: number; challenge: string | null; body: string }> {
  const response = await fetch(url, {
    headers: authorization === undefined ? {} : { authorization },
  });
  const body = await response.text();
  served.push(body);
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body };
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/**
 * The daemon's environment with its secrets moved into a config file of the given mode (with
 * the bearer token of /metrics too, unless `bearer` is false).
 */
async function configFile(
  name: string,
  mode: number,
  bearer = true,
): Promise<Record<string, string>> {
  const { B24_CLIENT_SECRET, B24_REFRESH_TOKEN, ...env } = daemonEnv(name);
  const path = join(dir, `${name}.yaml`);
  await writeFile(
    path,
    stringify({
      ...(bearer ? { httpAuth: { bearerToken: BEARER } } : {}),
      defaults: { clientSecret: B24_CLIENT_SECRET },
      portals: [{ name: 'acme', url: env['B24_PORTAL_URL'], refreshToken: B24_REFRESH_TOKEN }],
    }),
  );
  await chmod(path, mode);
  const rest: Record<string, string> = { ...env };
  delete rest['B24_PORTAL_URL'];
  delete rest['B24_PORTAL_NAME'];
  return { ...rest, MONITOR_CONFIG: path };
}

describe('/metrics and / behind a bearer token (MONITOR_HTTP_BEARER_TOKEN)', () => {
  it('answers 401 with a challenge without the token, 200 with it; health and readiness stay open', async () => {
    const { run, url } = await startDaemon({
      ...daemonEnv('bearer'),
      MONITOR_HTTP_BEARER_TOKEN: BEARER,
    });

    try {
      for (const path of ['/metrics', '/']) {
        for (const authorization of [
          undefined,
          'Bearer wrong-token',
          `Bearer ${BEARER}x`,
          basic(USER, BEARER),
          BEARER,
        ]) {
          const refused = await get(`${url}${path}`, authorization);
          expect(refused, `${path} with ${String(authorization)}`).toMatchObject({
            status: 401,
            challenge: 'Bearer',
            body: 'Unauthorized\n',
          });
        }
        expect((await get(`${url}${path}`, `Bearer ${BEARER}`)).status).toBe(200);
      }
      expect((await get(`${url}/metrics`, `bearer ${BEARER}`)).body).toContain(
        'b24_offline_up{portal="acme"} 1',
      );
      expect(await get(`${url}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
      expect((await get(`${url}/readyz`)).status).toBe(200);
    } finally {
      await stop(run);
    }
  });
});

// One daemon for two behaviours: basic auth from the environment, and no warning about a
// config file holding secrets that only its owner can read (the secrets come from that file).
describe('/metrics and / behind basic auth (MONITOR_HTTP_BASIC_USER, _PASSWORD), secrets in a private config file', () => {
  let daemon: { run: Running; url: string };
  beforeAll(async () => {
    daemon = await startDaemon({
      ...(await configFile('private', 0o600, false)),
      MONITOR_HTTP_BASIC_USER: USER,
      MONITOR_HTTP_BASIC_PASSWORD: PASSWORD,
    });
  });

  it('answers 401 with a Basic challenge without the right pair, 200 with it', async () => {
    const { url } = daemon;
    for (const path of ['/metrics', '/']) {
      for (const authorization of [
        undefined,
        basic(USER, 'wrong'),
        basic('someone', PASSWORD),
        basic(USER, `${PASSWORD}:`),
        `Basic ${Buffer.from(USER).toString('base64')}`,
        `Bearer ${PASSWORD}`,
      ]) {
        const refused = await get(`${url}${path}`, authorization);
        expect(refused, `${path} with ${String(authorization)}`).toMatchObject({
          status: 401,
          challenge: 'Basic realm="b24-offline-monitor", charset="UTF-8"',
        });
      }
      expect((await get(`${url}${path}`, basic(USER, PASSWORD))).status).toBe(200);
    }
    expect((await get(`${url}/healthz`)).status).toBe(200);
    expect((await get(`${url}/readyz`)).status).toBe(200);
  });

  it('a config file readable by its owner only: no warning', async () => {
    const stdout = await stop(daemon.run);

    expect(jsonLines(stdout).filter((l) => l['level'] === 'warn')).toEqual([]);
  });
});

describe('a config file holding secrets', () => {
  it('readable by others: a warning at start that names the file and the fix, not the secrets', async () => {
    const env = await configFile('shared', 0o644);
    const { run, url } = await startDaemon(env);
    const refused = await get(`${url}/metrics`);
    const stdout = await stop(run);

    const warnings = jsonLines(stdout).filter((l) => l['msg'] === 'Configuration warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn' });
    const detail = String(warnings[0]?.['detail']);
    expect(detail).toContain(env['MONITOR_CONFIG']);
    expect(detail).toMatch(
      /holds secrets \(httpAuth\.bearerToken, defaults\.clientSecret, portals\[0\]\.refreshToken\)/,
    );
    expect(detail).toMatch(/\(mode 0644\): run chmod 600 on it/);
    expect(refused.status).toBe(401); // the bearer token of the file protects /metrics
  });
});

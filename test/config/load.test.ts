import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';

import { PORTAL_DEFAULTS, formatProblems, loadConfig } from '../../src/config/load.js';
import { ENV_VARIABLES, PORTAL_SPECS, TOP_SPECS, viaFile } from '../../src/config/settings.js';
import {
  ALL_SECRETS,
  BASE_ENV,
  SECRETS,
  expectConfig,
  load,
  makeDir,
  manyPortalsYaml,
  removeDir,
} from './helpers.js';

const PORTAL = {
  url: 'https://acme.bitrix24.com/rest/',
  clientId: 'app.5f3c1e2a4b6d71.12345678',
  clientSecret: SECRETS.clientSecret,
  refreshToken: SECRETS.refreshToken,
};

let dir: string | undefined;
async function workDir(files: Parameters<typeof makeDir>[0] = {}): Promise<string> {
  dir = await makeDir(files);
  return dir;
}
afterEach(async () => {
  if (dir !== undefined) await removeDir(dir);
  dir = undefined;
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('a single portal from the environment', () => {
  it('fills every default', async () => {
    const cwd = await workDir();

    const { config, warnings } = expectConfig(
      load(cwd, { ...BASE_ENV, B24_PORTAL_URL: 'https://acme.bitrix24.com/rest' }),
    );

    expect(warnings).toEqual([]);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(config.logLevel).toBe('info');
    expect(config.maxConcurrentPolls).toBe(8);
    expect(config.httpAuth).toBeUndefined();
    expect(config.configFile).toBeUndefined();
    expect(config.portals).toEqual([
      {
        name: 'acme.bitrix24.com',
        restUrl: 'https://acme.bitrix24.com/rest/',
        clientId: BASE_ENV.B24_CLIENT_ID,
        clientSecret: SECRETS.clientSecret,
        refreshToken: SECRETS.refreshToken,
        accessToken: undefined,
        oauthUrl: 'https://oauth.bitrix.info/oauth/token/',
        tokenFile: join(cwd, 'data', 'acme.bitrix24.com.tokens.json'),
        schedule: '*/30 * * * * *',
        strategy: 'auto',
        scanMaxRows: 1000,
        maxEventNames: 500,
        dbTimeShare: 0.05,
        pollTimeoutMs: 25_000,
        staleAfterMs: 300_000,
        requestTimeoutMs: 15_000,
        rateLimit: { capacity: 10, drainPerSecond: 1 },
        authConnector: undefined,
      },
    ]);
    expect([...config.secrets].sort()).toEqual([SECRETS.clientSecret, SECRETS.refreshToken].sort());
  });

  it('reads every variable', async () => {
    const cwd = await workDir();
    const env = {
      ...BASE_ENV,
      B24_ACCESS_TOKEN: SECRETS.accessToken,
      B24_OAUTH_URL: 'http://127.0.0.1:3000/oauth/token/',
      B24_TOKEN_FILE: 'state/acme.json',
      B24_PORTAL_NAME: 'Acme (prod)',
      B24_AUTH_CONNECTOR: 'my_connector',
      MONITOR_SCHEDULE: '0 */5 * * * *',
      MONITOR_LISTEN: '[::1]:0',
      LOG_LEVEL: 'DEBUG',
      MONITOR_STRATEGY: ' scan ',
      MONITOR_SCAN_MAX_ROWS: '200',
      MONITOR_POLL_TIMEOUT: '10000',
      MONITOR_STALE_AFTER: '600000',
      MONITOR_REQUEST_TIMEOUT: '5000',
      MONITOR_RATE_LIMIT_CAPACITY: '4',
      MONITOR_RATE_LIMIT_PER_SECOND: '0.5',
      MONITOR_MAX_CONCURRENT_POLLS: '2',
      MONITOR_HTTP_BEARER_TOKEN: SECRETS.bearer,
      MONITOR_HTTP_BASIC_USER: 'prometheus',
      MONITOR_HTTP_BASIC_PASSWORD: SECRETS.password,
    };

    const { config } = expectConfig(load(cwd, env));

    expect(config.listen).toEqual({ host: '::1', port: 0 });
    expect(config.logLevel).toBe('debug');
    expect(config.maxConcurrentPolls).toBe(2);
    expect(config.httpAuth).toEqual({
      bearerToken: SECRETS.bearer,
      basic: { username: 'prometheus', password: SECRETS.password },
    });
    expect(config.portals[0]).toMatchObject({
      name: 'Acme (prod)',
      accessToken: SECRETS.accessToken,
      oauthUrl: 'http://127.0.0.1:3000/oauth/token/',
      tokenFile: join(cwd, 'state', 'acme.json'),
      authConnector: 'my_connector',
      schedule: '0 */5 * * * *',
      strategy: 'scan',
      scanMaxRows: 200,
      pollTimeoutMs: 10_000,
      staleAfterMs: 600_000,
      requestTimeoutMs: 5000,
      rateLimit: { capacity: 4, drainPerSecond: 0.5 },
    });
    expect([...config.secrets].sort()).toEqual(
      [
        SECRETS.clientSecret,
        SECRETS.refreshToken,
        SECRETS.accessToken,
        SECRETS.bearer,
        SECRETS.password,
      ].sort(),
    );
  });

  it.each([
    'http://127.0.0.1:8080/rest/',
    'http://127.42.0.1/rest/',
    'http://localhost:8080/rest/',
    'http://[::1]:8080/rest/',
    'HTTPS://Acme.Bitrix24.com/rest/',
  ])('accepts %s', async (url) => {
    const cwd = await workDir();

    const { config } = expectConfig(load(cwd, { ...BASE_ENV, B24_PORTAL_URL: url }));

    expect(config.portals[0]?.restUrl).toBe(new URL(url).href);
  });

  it('names a loopback portal after host and port, file-safe', async () => {
    const cwd = await workDir();

    const { config } = expectConfig(
      load(cwd, { ...BASE_ENV, B24_PORTAL_URL: 'http://[::1]:8080/rest/' }),
    );

    expect(config.portals[0]?.name).toBe('[::1]:8080');
    expect(config.portals[0]?.tokenFile).toBe(join(cwd, 'data', '_1_8080.tokens.json'));
  });

  it('reads NAME_FILE secrets without their trailing newline', async () => {
    const cwd = await workDir({
      'run/secrets/client_secret': `${SECRETS.clientSecret}\n`,
      'run/secrets/refresh_token': `${SECRETS.refreshToken}\r\n`,
      'run/secrets/client_id': 'app.from-file\n',
      'run/secrets/bearer': SECRETS.bearer,
      'run/secrets/password': `${SECRETS.password}\n\n`,
    });
    const env = {
      B24_PORTAL_URL: 'https://acme.bitrix24.com/rest/',
      B24_CLIENT_ID_FILE: 'run/secrets/client_id',
      B24_CLIENT_SECRET_FILE: join(cwd, 'run/secrets/client_secret'),
      B24_REFRESH_TOKEN_FILE: 'run/secrets/refresh_token',
      MONITOR_HTTP_BEARER_TOKEN_FILE: 'run/secrets/bearer',
      MONITOR_HTTP_BASIC_USER: 'ops',
      MONITOR_HTTP_BASIC_PASSWORD_FILE: 'run/secrets/password',
    };

    const { config } = expectConfig(load(cwd, env));

    expect(config.portals[0]).toMatchObject({
      clientId: 'app.from-file',
      clientSecret: SECRETS.clientSecret,
      refreshToken: SECRETS.refreshToken,
    });
    expect(config.httpAuth).toEqual({
      bearerToken: SECRETS.bearer,
      basic: { username: 'ops', password: SECRETS.password },
    });
    expect(config.secrets).toEqual(
      expect.arrayContaining([SECRETS.clientSecret, SECRETS.refreshToken]),
    );
  });

  it('treats blank variables as unset (an unset compose ${VAR})', async () => {
    const cwd = await workDir({ secret: SECRETS.fileSecret });

    const { config } = expectConfig(
      load(cwd, {
        ...BASE_ENV,
        B24_CLIENT_SECRET: '',
        B24_CLIENT_SECRET_FILE: 'secret',
        MONITOR_LISTEN: '  ',
      }),
    );

    expect(config.portals[0]?.clientSecret).toBe(SECRETS.fileSecret);
    expect(config.listen.port).toBe(9464);
  });

  it('needs no refresh token when the token file holds one', async () => {
    const cwd = await workDir({
      'data/acme.bitrix24.com.tokens.json': JSON.stringify({
        accessToken: SECRETS.accessToken,
        refreshToken: SECRETS.fileSecret,
      }),
    });

    const { config } = expectConfig(load(cwd, { ...BASE_ENV, B24_REFRESH_TOKEN: undefined }));

    expect(config.portals[0]?.refreshToken).toBeUndefined();
    expect(config.secrets).toEqual(
      expect.arrayContaining([SECRETS.fileSecret, SECRETS.accessToken]),
    );
  });

  it('needs no refresh token with token pairs in Redis, whose pair is read when it opens', async () => {
    const cwd = await workDir();
    const env = { ...BASE_ENV, B24_REFRESH_TOKEN: undefined };

    const inFiles = load(cwd, env);
    const { config } = expectConfig(
      load(cwd, { ...env, MONITOR_TOKEN_STORE: `redis://:${SECRETS.password}@redis:6379/0` }),
    );

    expect(inFiles.ok).toBe(false);
    expect(config.portals[0]?.refreshToken).toBeUndefined();
    expect(config.tokenStore).toBe(`redis://:${SECRETS.password}@redis:6379/0`);
    expect(config.secrets).toContain(SECRETS.password);
  });
});

describe('the config file', () => {
  it('loads two portals of one marketplace app with shared defaults (JSON)', async () => {
    const cwd = await workDir({
      'monitor.json': JSON.stringify({
        listen: '127.0.0.1:9100',
        logLevel: 'warn',
        maxConcurrentPolls: 3,
        httpAuth: { bearerTokenFile: 'bearer' },
        defaults: {
          clientId: PORTAL.clientId,
          clientSecretFile: 'client_secret',
          schedule: '*/10 * * * * *',
          rateLimit: { drainPerSecond: 0.5 },
        },
        portals: [
          { url: 'https://a.bitrix24.com/rest', refreshToken: 'rt-a-123456' },
          {
            name: 'b',
            url: 'https://b.bitrix24.de/rest/',
            refreshTokenFile: 'rt_b',
            strategy: 'count',
            rateLimit: { capacity: 2 },
          },
        ],
      }),
      bearer: `${SECRETS.bearer}\n`,
      client_secret: `${SECRETS.clientSecret}\n`,
      rt_b: SECRETS.refreshToken,
    });

    const { config, warnings } = expectConfig(load(cwd, { MONITOR_CONFIG: 'monitor.json' }));

    expect(warnings).toEqual([]);
    expect(config.configFile).toBe(join(cwd, 'monitor.json'));
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(config.logLevel).toBe('warn');
    expect(config.maxConcurrentPolls).toBe(3);
    expect(config.httpAuth).toEqual({ bearerToken: SECRETS.bearer, basic: undefined });
    expect(config.portals.map((portal) => [portal.name, portal.restUrl, portal.tokenFile])).toEqual(
      [
        [
          'a.bitrix24.com',
          'https://a.bitrix24.com/rest/',
          join(cwd, 'data/a.bitrix24.com.tokens.json'),
        ],
        ['b', 'https://b.bitrix24.de/rest/', join(cwd, 'data/b.tokens.json')],
      ],
    );
    expect(config.portals[1]).toMatchObject({
      clientId: PORTAL.clientId,
      clientSecret: SECRETS.clientSecret,
      refreshToken: SECRETS.refreshToken,
      schedule: '*/10 * * * * *',
      strategy: 'count',
      rateLimit: { capacity: 2, drainPerSecond: 0.5 },
    });
    expect(config.portals[0]?.rateLimit).toEqual({ capacity: 10, drainPerSecond: 0.5 });
  });

  it.each([
    ['monitor.yaml', stringify({ portals: [PORTAL] })],
    ['monitor.yml', stringify({ portals: [PORTAL] })],
    ['monitor.json', JSON.stringify({ portals: [PORTAL] })],
    ['monitor.conf', JSON.stringify({ portals: [PORTAL] })],
    ['monitor.conf', stringify({ portals: [PORTAL] })],
  ])('reads %s', async (name, text) => {
    const cwd = await workDir({ [name]: text });

    const { config } = expectConfig(load(cwd, { MONITOR_CONFIG: name }));

    expect(config.portals[0]?.name).toBe('acme.bitrix24.com');
  });

  it('takes `key:` with no value as not set, and anchors in top-level x- keys', async () => {
    const cwd = await workDir({
      'monitor.yaml': [
        'x-app: &app',
        `  clientId: ${PORTAL.clientId}`,
        `  clientSecret: ${SECRETS.clientSecret}`,
        'logLevel:',
        'portals:',
        '  - <<: *app',
        `    url: ${PORTAL.url}`,
        `    refreshToken: ${SECRETS.refreshToken}`,
        '    schedule:',
        '    authConnector: ~',
        '',
      ].join('\n'),
    });

    const { config } = expectConfig(load(cwd, { MONITOR_CONFIG: 'monitor.yaml' }));

    expect(config.logLevel).toBe('info');
    expect(config.portals[0]).toMatchObject({
      clientSecret: SECRETS.clientSecret,
      schedule: PORTAL_DEFAULTS.schedule,
      authConnector: undefined,
    });
  });

  it('merges a YAML anchor defined inside a portal into the next ones', async () => {
    const cwd = await workDir({
      'monitor.yaml': [
        'portals:',
        '  - &app',
        `    clientId: ${PORTAL.clientId}`,
        `    clientSecret: ${SECRETS.clientSecret}`,
        `    url: ${PORTAL.url}`,
        `    refreshToken: ${SECRETS.refreshToken}`,
        '    schedule:',
        '  - <<: *app',
        '    url: https://other.bitrix24.com/rest/',
        '    authConnector: ~',
        '',
      ].join('\n'),
    });

    const { config } = expectConfig(load(cwd, { MONITOR_CONFIG: 'monitor.yaml' }));

    expect(
      config.portals.map((portal) => [portal.name, portal.clientSecret, portal.schedule]),
    ).toEqual([
      ['acme.bitrix24.com', SECRETS.clientSecret, PORTAL_DEFAULTS.schedule],
      ['other.bitrix24.com', SECRETS.clientSecret, PORTAL_DEFAULTS.schedule],
    ]);
  });

  // how long it takes is a figure of `npm run bench:config`, not an assertion
  it('loads 1,000 portals', async () => {
    const cwd = await workDir({ 'monitor.yaml': manyPortalsYaml(1000) });

    const { config } = expectConfig(load(cwd, { MONITOR_CONFIG: 'monitor.yaml' }));

    expect(config.portals).toHaveLength(1000);
    expect(new Set(config.portals.map((portal) => portal.name)).size).toBe(1000);
    expect(new Set(config.portals.map((portal) => portal.tokenFile)).size).toBe(1000);
    expect(config.portals[999]).toMatchObject({
      name: 'p999.bitrix24.com',
      clientSecret: SECRETS.clientSecret,
    });
    expect(config.secrets).toHaveLength(1001);
  });

  it('reports every mistake among 1,000 portals at once', async () => {
    const text = manyPortalsYaml(1000)
      .replace('https://p10.', 'http://p10.')
      .replace('https://p500.', 'ftp://p500.')
      .replace('https://p999.', 'https://p0.');
    const cwd = await workDir({ 'monitor.yaml': text });

    const result = load(cwd, { MONITOR_CONFIG: 'monitor.yaml' });

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((problem) => problem.field)).toEqual([
      'portals[10].url',
      'portals[500].url',
      'portals[999].name',
      'portals[999].tokenFile',
    ]);
  });
});

describe('precedence', () => {
  it('lets the environment override a file of one portal, and top-level settings', async () => {
    const cwd = await workDir({
      'monitor.yaml': stringify({
        listen: '0.0.0.0:1111',
        logLevel: 'warn',
        defaults: { schedule: '0 * * * * *', strategy: 'count' },
        portals: [{ ...PORTAL, schedule: '*/5 * * * * *', clientSecret: 'file-client-secret' }],
      }),
    });
    const env = {
      MONITOR_CONFIG: 'monitor.yaml',
      MONITOR_LISTEN: '127.0.0.1:2222',
      MONITOR_SCHEDULE: '*/15 * * * * *',
      B24_CLIENT_SECRET: SECRETS.clientSecret,
      B24_PORTAL_URL: 'https://moved.bitrix24.com/rest/',
    };

    const { config } = expectConfig(load(cwd, env));

    expect(config.listen).toEqual({ host: '127.0.0.1', port: 2222 });
    expect(config.logLevel).toBe('warn');
    expect(config.portals[0]).toMatchObject({
      name: 'moved.bitrix24.com',
      restUrl: 'https://moved.bitrix24.com/rest/',
      schedule: '*/15 * * * * *',
      strategy: 'count',
      clientSecret: SECRETS.clientSecret,
    });
    // The overridden value is still a secret of this config, for redaction.
    expect(config.secrets).toContain('file-client-secret');
  });

  it('lets the environment override every portal of a file of several, entries and defaults alike', async () => {
    const cwd = await workDir({
      'monitor.yaml': stringify({
        defaults: {
          clientId: PORTAL.clientId,
          clientSecret: 'old-shared-secret',
          schedule: '0 * * * * *',
        },
        portals: [
          { url: 'https://a.bitrix24.com/rest/', refreshToken: 'rt-a-123456' },
          {
            url: 'https://b.bitrix24.com/rest/',
            refreshToken: 'rt-b-123456',
            schedule: '*/5 * * * * *',
          },
        ],
      }),
    });
    const env = {
      MONITOR_CONFIG: 'monitor.yaml',
      B24_CLIENT_SECRET: SECRETS.clientSecret,
      MONITOR_SCHEDULE: '*/20 * * * * *',
    };

    const { config } = expectConfig(load(cwd, env));

    expect(config.portals.map((portal) => [portal.clientSecret, portal.schedule])).toEqual([
      [SECRETS.clientSecret, '*/20 * * * * *'],
      [SECRETS.clientSecret, '*/20 * * * * *'],
    ]);
  });

  it('takes the portal from the environment when the file has shared settings only', async () => {
    const cwd = await workDir({
      'monitor.yaml': stringify({
        logLevel: 'error',
        defaults: { clientId: PORTAL.clientId, scanMaxRows: 100 },
      }),
    });

    const { config } = expectConfig(
      load(cwd, {
        MONITOR_CONFIG: 'monitor.yaml',
        B24_PORTAL_URL: PORTAL.url,
        B24_CLIENT_SECRET: SECRETS.clientSecret,
        B24_REFRESH_TOKEN: SECRETS.refreshToken,
      }),
    );

    expect(config.logLevel).toBe('error');
    expect(config.portals[0]).toMatchObject({ clientId: PORTAL.clientId, scanMaxRows: 100 });
  });

  it('does not fall back to the file when the environment value is wrong', async () => {
    const cwd = await workDir({
      'monitor.yaml': stringify({ portals: [{ ...PORTAL, schedule: '0 * * * * *' }] }),
    });

    const result = load(cwd, { MONITOR_CONFIG: 'monitor.yaml', MONITOR_SCHEDULE: 'hourly' });

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((problem) => problem.field)).toEqual(['MONITOR_SCHEDULE']);
  });
});

describe('warnings', () => {
  it.each([0o644, 0o640, 0o604])('warns when a file holding secrets has mode %#o', async (mode) => {
    const cwd = await workDir({ 'monitor.yaml': { text: stringify({ portals: [PORTAL] }), mode } });

    const { warnings } = expectConfig(load(cwd, { MONITOR_CONFIG: 'monitor.yaml' }));

    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(join(cwd, 'monitor.yaml'));
    expect(warnings[0]).toContain('portals[0].clientSecret, portals[0].refreshToken');
    expect(warnings[0]).toContain('chmod 600');
    for (const secret of ALL_SECRETS) expect(warnings[0]).not.toContain(secret);
  });

  it('does not warn about a private file, nor about one that only names secret files', async () => {
    const cwd = await workDir({
      'private.yaml': { text: stringify({ portals: [PORTAL] }), mode: 0o600 },
      'public.yaml': {
        text: stringify({
          portals: [
            {
              url: PORTAL.url,
              clientId: PORTAL.clientId,
              clientSecretFile: 's',
              refreshTokenFile: 's',
            },
          ],
        }),
        mode: 0o644,
      },
      s: SECRETS.fileSecret,
    });

    const privateFile = expectConfig(load(cwd, { MONITOR_CONFIG: 'private.yaml' }));
    const publicFile = expectConfig(load(cwd, { MONITOR_CONFIG: 'public.yaml' }));

    expect(privateFile.warnings).toEqual([]);
    expect(publicFile.warnings).toEqual([]);
  });

  it('warns about an unknown variable of ours, with a guess', async () => {
    const cwd = await workDir();

    const { warnings } = expectConfig(
      load(cwd, { ...BASE_ENV, MONITOR_SCHEDUEL: '* * * * *', PATH: '/bin' }),
    );

    expect(warnings).toEqual([
      'Unknown environment variable MONITOR_SCHEDUEL is ignored (did you mean MONITOR_SCHEDULE?)',
    ]);
  });
});

describe('the process-level contract', () => {
  it('reads only the environment it is given, never process.env, and never exits', async () => {
    const cwd = await workDir();
    vi.stubEnv('B24_PORTAL_URL', 'https://acme.bitrix24.com/rest/');
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);

    const result = load(cwd, {});

    expect(result.ok).toBe(false);
    expect(exit).not.toHaveBeenCalled();
  });

  it('reads only the files it is told to read, through the given readFile', () => {
    const files: Record<string, string> = {
      '/etc/monitor.yaml': stringify({
        portals: [{ url: PORTAL.url, clientId: PORTAL.clientId, clientSecretFile: 's' }],
      }),
      '/srv/s': SECRETS.clientSecret,
      '/srv/data/acme.bitrix24.com.tokens.json': JSON.stringify({
        refreshToken: SECRETS.refreshToken,
      }),
    };
    const read: string[] = [];

    const result = loadConfig({
      env: { MONITOR_CONFIG: '/etc/monitor.yaml' },
      cwd: '/srv',
      readFile: (path) => {
        read.push(path);
        const text = files[path];
        if (text === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
        return text;
      },
      statFile: () => ({ mode: 0o100600 }),
    });

    expect(expectConfig(result).config.portals[0]?.clientSecret).toBe(SECRETS.clientSecret);
    expect(read.sort()).toEqual(Object.keys(files).sort());
  });

  it('puts no secret in any problem, even one given in the wrong place', async () => {
    const cwd = await workDir({
      'monitor.yaml': stringify({
        httpAuth: { bearerToken: SECRETS.bearer, basic: { password: `${SECRETS.password}\u0000` } },
        portals: [
          {
            ...PORTAL,
            name: `${SECRETS.refreshToken}\u0007`,
            clientId: SECRETS.clientSecret.padEnd(600, 'x'),
            url: `https://u:${SECRETS.accessToken}@acme.bitrix24.com/rest/`,
            accessToken: 42,
          },
        ],
      }),
    });

    const result = load(cwd, {
      MONITOR_CONFIG: 'monitor.yaml',
      MONITOR_HTTP_BEARER_TOKEN: `${SECRETS.fileSecret}\n x`,
    });

    expect(result.ok).toBe(false);
    if (result.ok) return;
    const message = formatProblems(result.problems);
    expect(result.problems.length).toBeGreaterThanOrEqual(5);
    for (const secret of ALL_SECRETS) expect(message).not.toContain(secret);
  });
});

describe('the example file', () => {
  const examplePath = resolve(import.meta.dirname, '../../config/monitor.example.yaml');
  const example = readFileSync(examplePath, 'utf8');

  it('is a valid configuration', () => {
    const secrets: Record<string, string> = {
      '/run/secrets/monitor_bearer_token': SECRETS.bearer,
      '/run/secrets/monitor_basic_password': SECRETS.password,
      '/run/secrets/b24_client_secret': SECRETS.clientSecret,
      '/run/secrets/acme_refresh_token': SECRETS.refreshToken,
      '/run/secrets/globex_refresh_token': SECRETS.fileSecret,
    };

    const result = loadConfig({
      env: { MONITOR_CONFIG: examplePath },
      cwd: '/srv',
      readFile: (path) => {
        const text = path === examplePath ? example : secrets[path];
        if (text === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
        return text;
      },
      statFile: () => ({ mode: 0o100644 }),
    });

    const { config, warnings } = expectConfig(result);
    expect(warnings).toEqual([]);
    expect(config.portals.map((portal) => portal.name)).toEqual(['acme', 'globex.bitrix24.eu']);
    expect(config.portals[1]).toMatchObject({
      strategy: 'count',
      rateLimit: { capacity: 10, drainPerSecond: 0.5 },
    });
  });

  it('explains every setting and names its variable', () => {
    const keys = [...PORTAL_SPECS, ...TOP_SPECS].flatMap((spec) => {
      const key = spec.key.split('.').at(-1) ?? spec.key;
      return viaFile(spec) ? [key, `${key}File`] : [key];
    });
    const otherKeys = ['rateLimit', 'httpAuth', 'basic', 'defaults', 'portals'];

    for (const key of [...keys, ...otherKeys]) expect(example).toMatch(new RegExp(`\\b${key}:`));
    for (const variable of ENV_VARIABLES) expect(example).toContain(variable);
    expect(keys.length).toBeGreaterThan(25);
  });
});

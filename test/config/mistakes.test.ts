/**
 * Configuration mistakes, each checked against the contract: the load fails, one message
 * lists every problem (a case with three mistakes lists exactly three), names the field, and
 * never shows a secret.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { formatProblems } from '../../src/config/load.js';
import type { FileSpec } from './helpers.js';
import { ALL_SECRETS, BASE_ENV, SECRETS, load, makeDir, removeDir } from './helpers.js';

const PORTAL = {
  url: 'https://acme.bitrix24.com/rest/',
  clientId: 'app.5f3c1e2a4b6d71.12345678',
  clientSecret: SECRETS.clientSecret,
  refreshToken: SECRETS.refreshToken,
};

const FILE_ENV = { MONITOR_CONFIG: 'monitor.yaml' };

function yamlFile(data: unknown): Record<string, FileSpec> {
  return { 'monitor.yaml': stringify(data) };
}

function portals(...entries: object[]): Record<string, FileSpec> {
  return yamlFile({ portals: entries });
}

interface Mistake {
  readonly name: string;
  readonly env: Readonly<Record<string, string>>;
  readonly files?: Readonly<Record<string, FileSpec>>;
  /** Every problem's field, in any order: exactly these, no more. */
  readonly fields: readonly string[];
  /** Text the message must hold besides the fields. */
  readonly says?: readonly string[];
}

const MISTAKES: readonly Mistake[] = [
  // --- nothing, or not enough, in the environment
  {
    name: 'an empty environment and no file',
    env: {},
    fields: ['B24_PORTAL_URL', 'B24_CLIENT_ID', 'B24_CLIENT_SECRET', 'B24_REFRESH_TOKEN'],
    says: ['not set', 'B24_CLIENT_SECRET_FILE'],
  },
  {
    name: 'a missing client secret',
    env: { ...BASE_ENV, B24_CLIENT_SECRET: '' },
    fields: ['B24_CLIENT_SECRET'],
    says: ['B24_CLIENT_SECRET: not set'],
  },
  {
    name: 'no refresh token and no token file',
    env: { ...BASE_ENV, B24_REFRESH_TOKEN: '' },
    fields: ['B24_REFRESH_TOKEN'],
    says: ['acme.bitrix24.com.tokens.json holds none (file not found)'],
  },
  {
    name: 'no refresh token and a token file without one',
    env: { ...BASE_ENV, B24_REFRESH_TOKEN: '', B24_TOKEN_FILE: 'tokens.json' },
    files: { 'tokens.json': JSON.stringify({ accessToken: SECRETS.accessToken }) },
    fields: ['B24_REFRESH_TOKEN'],
    says: ['it has no refreshToken string'],
  },
  {
    name: 'no refresh token and a token file that is not JSON',
    env: { ...BASE_ENV, B24_REFRESH_TOKEN: '', B24_TOKEN_FILE: 'tokens.json' },
    files: { 'tokens.json': `refreshToken=${SECRETS.refreshToken}` },
    fields: ['B24_REFRESH_TOKEN'],
    says: ['it is not valid JSON'],
  },
  // --- URLs
  {
    name: 'a URL that does not parse',
    env: { ...BASE_ENV, B24_PORTAL_URL: 'acme.bitrix24.com/rest' },
    fields: ['B24_PORTAL_URL'],
    says: ['"acme.bitrix24.com/rest" — expected an https:// URL (http:// only for loopback hosts)'],
  },
  {
    name: 'an ftp:// URL in the file',
    env: FILE_ENV,
    files: portals({ ...PORTAL, url: 'ftp://x' }),
    fields: ['portals[0].url'],
    says: [
      'portals[0].url: "ftp://x" — expected an https:// URL (http:// only for loopback hosts)',
    ],
  },
  {
    name: 'http:// to a remote host',
    env: { ...BASE_ENV, B24_PORTAL_URL: 'http://acme.bitrix24.com/rest/' },
    fields: ['B24_PORTAL_URL'],
    says: ['tokens never travel in clear text'],
  },
  {
    name: 'http:// to a private (not loopback) address',
    env: { ...BASE_ENV, B24_PORTAL_URL: 'http://10.0.0.5:8080/rest/' },
    fields: ['B24_PORTAL_URL'],
  },
  {
    name: 'http:// to an OAuth server on another host',
    env: { ...BASE_ENV, B24_OAUTH_URL: 'http://oauth.bitrix.info/oauth/token/' },
    fields: ['B24_OAUTH_URL'],
  },
  {
    name: 'credentials in the URL (shown redacted)',
    env: {
      ...BASE_ENV,
      B24_PORTAL_URL: `https://admin:${SECRETS.password}@acme.bitrix24.com/rest/`,
    },
    fields: ['B24_PORTAL_URL'],
    says: ['"https://[redacted]@acme.bitrix24.com/rest/"', 'without user:password'],
  },
  {
    name: 'an inbound webhook URL (its code redacted)',
    env: { ...BASE_ENV, B24_PORTAL_URL: `https://acme.bitrix24.com/rest/1/${SECRETS.bearer}/` },
    fields: ['B24_PORTAL_URL'],
    says: ['/rest/1/[redacted]/', 'not an inbound webhook URL'],
  },
  {
    name: 'a URL with a query string',
    env: { ...BASE_ENV, B24_PORTAL_URL: 'https://acme.bitrix24.com/rest/?x=1' },
    fields: ['B24_PORTAL_URL'],
    says: ['without ?query'],
  },
  // --- schedules, enums, numbers
  {
    name: 'a cron expression with a bad seconds field',
    env: { ...BASE_ENV, MONITOR_SCHEDULE: '61 * * * * *' },
    fields: ['MONITOR_SCHEDULE'],
    says: ['"61 * * * * *" — expected a node-cron expression', 'second: 61'],
  },
  {
    name: 'a cron expression with too few fields, in defaults',
    env: FILE_ENV,
    files: yamlFile({ defaults: { schedule: 'every minute' }, portals: [PORTAL] }),
    fields: ['defaults.schedule'],
    says: ['expected 5 or 6 fields'],
  },
  {
    name: 'an unknown strategy',
    env: { ...BASE_ENV, MONITOR_STRATEGY: 'fast' },
    fields: ['MONITOR_STRATEGY'],
    says: ['expected one of scan, count, auto'],
  },
  {
    name: 'a bad log level',
    env: { ...BASE_ENV, LOG_LEVEL: 'verbose' },
    fields: ['LOG_LEVEL'],
    says: ['"verbose" — expected one of fatal, error, warn, info, debug, trace, silent'],
  },
  {
    name: 'a bad log level in the file',
    env: FILE_ENV,
    files: yamlFile({ logLevel: 'loud', portals: [PORTAL] }),
    fields: ['logLevel'],
  },
  {
    name: 'a zero poll timeout',
    env: { ...BASE_ENV, MONITOR_POLL_TIMEOUT: '0' },
    fields: ['MONITOR_POLL_TIMEOUT'],
    says: ['expected a positive whole number of milliseconds'],
  },
  {
    name: 'a negative, a fractional and a non-numeric number',
    env: {
      ...BASE_ENV,
      MONITOR_STALE_AFTER: '-5',
      MONITOR_REQUEST_TIMEOUT: '1.5',
      MONITOR_SCAN_MAX_ROWS: 'lots',
    },
    fields: ['MONITOR_STALE_AFTER', 'MONITOR_REQUEST_TIMEOUT', 'MONITOR_SCAN_MAX_ROWS'],
  },
  {
    name: 'a timeout beyond what a timer can wait',
    env: { ...BASE_ENV, MONITOR_POLL_TIMEOUT: '99999999999' },
    fields: ['MONITOR_POLL_TIMEOUT'],
    says: ['at most 2147483647'],
  },
  {
    name: 'a zero drain rate and a zero concurrency',
    env: { ...BASE_ENV, MONITOR_RATE_LIMIT_PER_SECOND: '0', MONITOR_MAX_CONCURRENT_POLLS: '0' },
    fields: ['MONITOR_RATE_LIMIT_PER_SECOND', 'MONITOR_MAX_CONCURRENT_POLLS'],
  },
  // --- wrong types and unknown keys in the file
  {
    name: 'wrong types in the file',
    env: FILE_ENV,
    files: portals({ ...PORTAL, scanMaxRows: '5000', rateLimit: 5, strategy: 3 }),
    fields: ['portals[0].scanMaxRows', 'portals[0].rateLimit', 'portals[0].strategy'],
    says: ['portals[0].scanMaxRows: "5000" — expected a positive whole number of rows'],
  },
  {
    name: 'a number where a secret string is expected (shown redacted)',
    env: FILE_ENV,
    files: portals({ ...PORTAL, clientSecret: 123456789 }),
    fields: ['portals[0].clientSecret'],
    says: ['portals[0].clientSecret: [redacted] — expected a string'],
  },
  {
    name: 'unknown keys at every level',
    env: FILE_ENV,
    files: yamlFile({
      listne: '0.0.0.0:1',
      defaults: { colour: 'red' },
      portals: [{ ...PORTAL, clientSecert: SECRETS.fileSecret, rateLimit: { capacty: 3 } }],
      httpAuth: { basic: { username: 'ops', password: SECRETS.password, pasword: 'x' } },
    }),
    fields: [
      'listne',
      'defaults.colour',
      'portals[0].clientSecert',
      'portals[0].rateLimit.capacty',
      'httpAuth.basic.pasword',
    ],
    says: ['unknown key — did you mean listen?', 'unknown key — did you mean capacity?'],
  },
  {
    name: 'a per-portal key in defaults',
    env: FILE_ENV,
    files: yamlFile({
      defaults: { url: PORTAL.url, refreshToken: SECRETS.refreshToken },
      portals: [PORTAL],
    }),
    fields: ['defaults.url', 'defaults.refreshToken'],
    says: ['only allowed in a portal entry, not in defaults'],
  },
  {
    name: 'a portal entry that is not a mapping',
    env: FILE_ENV,
    files: portals(PORTAL, 'acme' as unknown as object),
    fields: ['portals[1]'],
    says: ['portals[1]: "acme" — expected a mapping of portal settings'],
  },
  {
    name: 'portals that is not a list',
    env: FILE_ENV,
    files: yamlFile({ portals: PORTAL }),
    fields: ['portals'],
    says: ['portals: a mapping — expected a list of portals'],
  },
  {
    name: 'a file without portals and no B24_PORTAL_URL',
    env: FILE_ENV,
    files: yamlFile({ listen: '127.0.0.1:9464' }),
    fields: ['portals'],
    says: ['at least one portal'],
  },
  {
    name: 'a missing url and client secret in a file portal',
    env: FILE_ENV,
    files: portals({ clientId: 'app.1', refreshToken: SECRETS.refreshToken }),
    fields: ['portals[0].url', 'portals[0].clientSecret'],
    says: ['clientSecret (or clientSecretFile) in this portal entry or in defaults'],
  },
  // --- secrets given as files
  {
    name: 'a missing _FILE',
    env: { ...BASE_ENV, B24_CLIENT_SECRET: '', B24_CLIENT_SECRET_FILE: 'secrets/missing' },
    fields: ['B24_CLIENT_SECRET_FILE'],
    says: ['"secrets/missing" — expected a readable file holding', '(file not found)'],
  },
  {
    name: 'a _FILE that is a directory',
    env: { ...BASE_ENV, B24_REFRESH_TOKEN: '', B24_REFRESH_TOKEN_FILE: 'secrets' },
    files: { secrets: { directory: true } },
    fields: ['B24_REFRESH_TOKEN_FILE'],
    says: ['it is a directory'],
  },
  {
    name: 'an empty _FILE',
    env: { ...BASE_ENV, B24_CLIENT_SECRET: '', B24_CLIENT_SECRET_FILE: 'secret' },
    files: { secret: '\n' },
    fields: ['B24_CLIENT_SECRET_FILE'],
    says: ['expected a non-empty value'],
  },
  {
    name: 'a _FILE of two lines',
    env: { ...BASE_ENV, MONITOR_HTTP_BEARER_TOKEN_FILE: 'bearer' },
    files: { bearer: `${SECRETS.bearer}\n${SECRETS.fileSecret}\n` },
    fields: ['MONITOR_HTTP_BEARER_TOKEN_FILE'],
    says: ['single line'],
  },
  {
    name: 'NAME and NAME_FILE both set',
    env: { ...BASE_ENV, B24_CLIENT_SECRET_FILE: 'secret' },
    files: { secret: SECRETS.fileSecret },
    fields: ['B24_CLIENT_SECRET'],
    says: [
      'B24_CLIENT_SECRET: [redacted] — set either B24_CLIENT_SECRET or B24_CLIENT_SECRET_FILE, not both',
    ],
  },
  {
    name: 'a token store URL and its file both set (its password redacted)',
    env: {
      ...BASE_ENV,
      MONITOR_TOKEN_STORE: `redis://u:${SECRETS.password}@h:6379/0`,
      MONITOR_TOKEN_STORE_FILE: 'store',
    },
    files: { store: 'file' },
    fields: ['MONITOR_TOKEN_STORE'],
    says: ['"redis://[redacted]@h:6379/0" — set either MONITOR_TOKEN_STORE or'],
  },
  {
    name: 'a secret and its file both set in the config file',
    env: FILE_ENV,
    files: { ...portals({ ...PORTAL, clientSecretFile: 'secret' }), secret: SECRETS.fileSecret },
    fields: ['portals[0].clientSecret'],
    says: ['set either clientSecret or clientSecretFile, not both'],
  },
  {
    name: 'a missing secret file named in the config file',
    env: FILE_ENV,
    files: yamlFile({
      defaults: { clientSecretFile: '/nonexistent/b24/secret' },
      portals: [{ ...PORTAL, clientSecret: undefined }],
    }),
    fields: ['defaults.clientSecretFile'],
    says: ['"/nonexistent/b24/secret"', 'file not found'],
  },
  // --- uniqueness
  {
    name: 'two portals with the same name',
    env: FILE_ENV,
    files: portals(
      { ...PORTAL, name: 'acme' },
      { ...PORTAL, name: 'acme', url: 'https://other.bitrix24.com/rest/', tokenFile: 'other.json' },
    ),
    fields: ['portals[1].name'],
    says: ['expected a unique portal name: portals[0].name is the same'],
  },
  {
    name: 'two portals on the same host (default names and token files collide)',
    env: FILE_ENV,
    files: portals(PORTAL, { ...PORTAL, url: 'https://ACME.bitrix24.com/rest' }),
    fields: ['portals[1].name', 'portals[1].tokenFile'],
    says: ['the name defaults to the host of the URL'],
  },
  {
    name: 'two portals sharing a token file',
    env: FILE_ENV,
    files: portals(
      { ...PORTAL, tokenFile: 'data/t.json' },
      { ...PORTAL, url: 'https://other.bitrix24.com/rest/', tokenFile: './data/../data/t.json' },
    ),
    fields: ['portals[1].tokenFile'],
    says: ['expected a token file of its own'],
  },
  {
    name: 'names that collide once made file-safe',
    env: FILE_ENV,
    files: portals(
      { ...PORTAL, name: 'acme/main' },
      { ...PORTAL, name: 'acme:main', url: 'https://other.bitrix24.com/rest/' },
    ),
    fields: ['portals[1].tokenFile'],
    says: ['acme_main.tokens.json'],
  },
  // --- listen address
  ...['localhost', '0.0.0.0:70000', '::1:9464', '[zz]:9464', 'host name:80', ':9464'].map(
    (listen): Mistake => ({
      name: `listen address ${JSON.stringify(listen)}`,
      env: { ...BASE_ENV, MONITOR_LISTEN: listen },
      fields: ['MONITOR_LISTEN'],
      says: ['expected host:port'],
    }),
  ),
  // --- HTTP protection
  {
    name: 'a basic-auth user without a password',
    env: { ...BASE_ENV, MONITOR_HTTP_BASIC_USER: 'prometheus' },
    fields: ['MONITOR_HTTP_BASIC_PASSWORD'],
    says: ['needs both a user name and a password'],
  },
  {
    name: 'a basic-auth password without a user, in the file',
    env: FILE_ENV,
    files: yamlFile({ httpAuth: { basic: { password: SECRETS.password } }, portals: [PORTAL] }),
    fields: ['httpAuth.basic.username'],
  },
  {
    name: 'a basic-auth user name with a colon',
    env: {
      ...BASE_ENV,
      MONITOR_HTTP_BASIC_USER: 'a:b',
      MONITOR_HTTP_BASIC_PASSWORD: SECRETS.password,
    },
    fields: ['MONITOR_HTTP_BASIC_USER'],
  },
  // --- environment against a file of several portals
  {
    name: 'B24_PORTAL_URL with a file of several portals',
    env: { ...FILE_ENV, B24_PORTAL_URL: 'https://acme.bitrix24.com/rest/' },
    files: portals(PORTAL, { ...PORTAL, url: 'https://other.bitrix24.com/rest/' }),
    fields: ['B24_PORTAL_URL'],
    says: ['not allowed with a config file of 2 portals'],
  },
  {
    name: 'per-portal tokens in the environment with a file of several portals',
    env: { ...FILE_ENV, B24_REFRESH_TOKEN: SECRETS.refreshToken, B24_PORTAL_NAME: 'x' },
    files: portals(PORTAL, { ...PORTAL, url: 'https://other.bitrix24.com/rest/' }),
    fields: ['B24_REFRESH_TOKEN', 'B24_PORTAL_NAME'],
    says: ['B24_REFRESH_TOKEN: [redacted] — not allowed'],
  },
  // --- the file itself
  {
    name: 'a config file that does not exist',
    env: { ...BASE_ENV, MONITOR_CONFIG: 'nowhere.yaml' },
    fields: ['MONITOR_CONFIG'],
    says: [
      'MONITOR_CONFIG: "nowhere.yaml" — expected a readable YAML or JSON file (file not found)',
    ],
  },
  {
    name: 'bad YAML syntax',
    env: FILE_ENV,
    files: {
      'monitor.yaml': `portals:\n  - url: https://a/rest/\n    clientSecret: "${SECRETS.clientSecret}\n`,
    },
    fields: ['MONITOR_CONFIG'],
    says: ['expected valid YAML: Missing closing', 'at line 4, column 1'],
  },
  {
    name: 'a duplicate key in YAML',
    env: FILE_ENV,
    files: { 'monitor.yaml': 'listen: 0.0.0.0:1\nlisten: 0.0.0.0:2\n' },
    fields: ['MONITOR_CONFIG'],
    says: ['Map keys must be unique at line 2, column 1'],
  },
  {
    name: 'a duplicate key in JSON (JSON.parse would keep the last silently)',
    env: { MONITOR_CONFIG: 'monitor.json' },
    files: { 'monitor.json': '{\n  "logLevel": "info",\n  "logLevel": "debug"\n}' },
    fields: ['MONITOR_CONFIG'],
    says: ['expected valid JSON: Map keys must be unique at line 3, column 3'],
  },
  {
    name: 'bad JSON syntax',
    env: { MONITOR_CONFIG: 'monitor.json' },
    files: {
      'monitor.json': `{\n  "portals": [\n    { "clientSecret": "${SECRETS.clientSecret}" }\n  ]\n  "listen": 1\n}`,
    },
    fields: ['MONITOR_CONFIG'],
    says: ['expected valid JSON', 'at line 5'],
  },
  {
    name: 'JSON with an unquoted secret',
    env: { MONITOR_CONFIG: 'monitor.json' },
    files: { 'monitor.json': `{"portals": [{"clientSecret": ${SECRETS.clientSecret}}]}` },
    fields: ['MONITOR_CONFIG'],
    says: ['expected valid JSON', 'at line 1'],
  },
  {
    name: 'a file that holds a list',
    env: FILE_ENV,
    files: { 'monitor.yaml': '- a\n- b\n' },
    fields: ['MONITOR_CONFIG'],
    says: ['expected a mapping of settings at the top of the file'],
  },
  // --- several mistakes at once, from both sources
  {
    name: 'three mistakes in the environment and the file',
    env: { ...FILE_ENV, LOG_LEVEL: 'chatty' },
    files: portals({ ...PORTAL, url: 'http://example.com/rest/', schedule: '* * *' }),
    fields: ['LOG_LEVEL', 'portals[0].url', 'portals[0].schedule'],
  },
];

describe('configuration mistakes', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await removeDir(dir);
    dir = undefined;
  });

  it.each(MISTAKES)('$name', async ({ env, files, fields, says }) => {
    dir = await makeDir(files);

    const result = load(dir, env);

    expect(result.ok).toBe(false);
    if (result.ok) return;
    const message = formatProblems(result.problems);
    expect([...result.problems.map((problem) => problem.field)].sort()).toEqual([...fields].sort());
    const count = fields.length === 1 ? '1 problem' : `${fields.length} problems`;
    expect(message.split('\n')[0]).toContain(`Invalid configuration (${count}`);
    expect(message.split('\n')).toHaveLength(fields.length + 1);
    for (const field of fields) expect(message).toContain(`  - ${field}: `);
    for (const text of says ?? []) expect(message).toContain(text);
    for (const secret of ALL_SECRETS) expect(message).not.toContain(secret);
  });
});

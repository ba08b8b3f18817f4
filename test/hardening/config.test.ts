/**
 * Bad input from users, as a user meets it: the real CLI, a handful of configuration mistakes
 * across every kind (the full table of 59 is test/config/mistakes.test.ts, at the loader).
 * Each stops the process before anything starts, with exit code 2 and one message that names
 * the field — and never shows a secret.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMonitorCli, scanTextsForSecretsAfterAll } from './support.js';

const SECRET = 'client-secret-Hx7Qe2Lk9Wm4';
const REFRESH = 'refresh-token-Vb3Nc8Rt5Ys1';
const BEARER = 'bearer-token-Pq6Zu1Jd0Ka7';

scanTextsForSecretsAfterAll([], () => [SECRET, REFRESH, BEARER]);

const BASE = {
  B24_PORTAL_URL: 'https://acme.bitrix24.com/rest/',
  B24_CLIENT_ID: 'app.5f3c1e2a4b6d71.12345678',
  B24_CLIENT_SECRET: SECRET,
  B24_REFRESH_TOKEN: REFRESH,
};

let dir: string;

function withoutSecret(): Record<string, string> {
  const env: Record<string, string> = { ...BASE };
  delete env['B24_CLIENT_SECRET'];
  return env;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'b24-config-cli-'));
  await writeFile(join(dir, 'unknown-key.yaml'), 'listn: 127.0.0.1:9464\n');
  await writeFile(join(dir, 'broken.yaml'), 'portals:\n  - url: [unclosed\n');
  await writeFile(join(dir, 'secret-dir'), '');
  await chmod(join(dir, 'secret-dir'), 0o600);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface CliMistake {
  readonly kind: string;
  readonly env: () => Record<string, string>;
  /** The field the one problem line names. */
  readonly field: string;
  /** What the line says about it. */
  readonly says: RegExp;
  readonly command?: string;
}

const MISTAKES: readonly CliMistake[] = [
  {
    kind: 'wrong type',
    env: () => ({ ...BASE, MONITOR_POLL_TIMEOUT: 'soon' }),
    field: 'MONITOR_POLL_TIMEOUT',
    says: /"soon" — expected a positive whole number of milliseconds/,
  },
  {
    kind: 'unknown key',
    env: () => ({ ...BASE, MONITOR_CONFIG: join(dir, 'unknown-key.yaml') }),
    field: 'listn',
    says: /unknown key — did you mean listen\?/,
  },
  {
    kind: 'bad cron',
    env: () => ({ ...BASE, MONITOR_SCHEDULE: '61 * * * * *' }),
    field: 'MONITOR_SCHEDULE',
    says: /"61 \* \* \* \* \*" — expected a node-cron expression/,
  },
  {
    kind: 'bad URL',
    env: () => ({ ...BASE, B24_PORTAL_URL: 'acme.bitrix24.com/rest' }),
    field: 'B24_PORTAL_URL',
    says: /expected an https:\/\/ URL/,
  },
  {
    kind: 'http:// to a remote host',
    env: () => ({ ...BASE, B24_PORTAL_URL: 'http://acme.bitrix24.com/rest/' }),
    field: 'B24_PORTAL_URL',
    says: /tokens never travel in clear text/,
  },
  {
    kind: 'missing secret',
    env: () => ({ ...BASE, B24_CLIENT_SECRET: '' }),
    field: 'B24_CLIENT_SECRET',
    says: /not set — expected the client_secret/,
  },
  {
    kind: 'unreadable _FILE',
    env: () => ({
      ...withoutSecret(),
      B24_CLIENT_SECRET_FILE: join(dir, 'secret-dir', 'secret'),
    }),
    field: 'B24_CLIENT_SECRET_FILE',
    says: /expected a readable file/,
  },
  {
    kind: 'bad listen address',
    env: () => ({ ...BASE, MONITOR_LISTEN: 'localhost' }),
    field: 'MONITOR_LISTEN',
    says: /expected host:port/,
  },
  {
    kind: 'half of basic auth (a secret in the same config)',
    env: () => ({ ...BASE, MONITOR_HTTP_BASIC_USER: 'prom', MONITOR_HTTP_BEARER_TOKEN: BEARER }),
    field: 'MONITOR_HTTP_BASIC_PASSWORD',
    says: /not set — expected a password/,
  },
  {
    kind: 'a config file that does not parse',
    env: () => ({ ...BASE, MONITOR_CONFIG: join(dir, 'broken.yaml') }),
    field: 'MONITOR_CONFIG',
    says: /YAML|parse/i,
  },
  {
    kind: 'the daemon, too, refuses to start half-configured',
    command: 'start',
    env: () => ({ ...BASE, MONITOR_STRATEGY: 'fastest', MONITOR_LISTEN: '127.0.0.1:0' }),
    field: 'MONITOR_STRATEGY',
    says: /"fastest" — expected one of scan, count, auto/,
  },
];

describe.concurrent('configuration mistakes through the CLI', () => {
  it.each(MISTAKES)('$kind: exit 2, one message naming $field', async (mistake) => {
    const run = await runMonitorCli(
      mistake.command === undefined ? ['once', '--json'] : [mistake.command],
      mistake.env(),
    );

    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Invalid configuration \(1 problem(; config file .+)?\):$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]?.startsWith(`  - ${mistake.field}: `)).toBe(true);
    expect(lines[1]).toMatch(mistake.says);
  });
});

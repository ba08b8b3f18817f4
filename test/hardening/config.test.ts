/**
 * Bad configuration, as a user meets it: the real CLI stops before anything starts, with exit
 * code 2, nothing on stdout and one message on stderr that names the field — and never shows
 * a secret. One mistake for `once` and one for the daemon (`start`): what needs a process. Every
 * kind of mistake (the full table of 60) is test/config/mistakes.test.ts, at the loader, in-process.
 */
import { describe, expect, it } from 'vitest';
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
    kind: 'half of basic auth (a secret in the same config)',
    env: () => ({ ...BASE, MONITOR_HTTP_BASIC_USER: 'prom', MONITOR_HTTP_BEARER_TOKEN: BEARER }),
    field: 'MONITOR_HTTP_BASIC_PASSWORD',
    says: /not set — expected a password/,
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

import { describe, expect, it } from 'vitest';

import type { z } from 'zod';

import {
  Listen,
  RestUrl,
  Schedule,
  closest,
  fileNameOf,
  isLoopbackHost,
} from '../../src/config/checks.js';
import { formatProblems, redactUrl, showValue } from '../../src/config/problems.js';
import { SecretRegistry } from '../../src/runtime/secrets.js';

/** A type as the loader sees it: the value, or refused. */
function check<T>(type: z.ZodType<T>, raw: string): { ok: true; value: T } | { ok: false } {
  const result = type.safeParse(raw);
  return result.success ? { ok: true, value: result.data } : { ok: false };
}
const checkRestUrl = (raw: string) => check(RestUrl, raw);
const parseListen = (raw: string) => check(Listen, raw);
const checkCron = (raw: string) => check(Schedule, raw);

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['LOCALHOST', true],
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['[::1]', true],
    ['::1', true],
    ['128.0.0.1', false],
    ['10.0.0.1', false],
    ['0.0.0.0', false],
    ['localhost.example.com', false],
    ['127.0.0.1.nip.io', false],
    ['[::2]', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('checkRestUrl', () => {
  it.each([
    ['https://acme.bitrix24.com/rest', 'https://acme.bitrix24.com/rest/'],
    ['https://acme.bitrix24.com/rest/', 'https://acme.bitrix24.com/rest/'],
    ['  https://ACME.bitrix24.com/rest/ ', 'https://acme.bitrix24.com/rest/'],
    ['https://acme.bitrix24.com', 'https://acme.bitrix24.com/'],
    ['http://127.1/rest', 'http://127.0.0.1/rest/'],
  ])('accepts %s as %s', (raw, expected) => {
    expect(checkRestUrl(raw)).toEqual({ ok: true, value: expected });
  });

  it.each([
    'ftp://acme.bitrix24.com/rest/',
    'http://acme.bitrix24.com/rest/',
    'http://192.168.1.10/rest/',
    'http://[::ffff:7f00:1]/rest/',
    'javascript:alert(1)',
    'acme.bitrix24.com',
    'https://a:b@acme.bitrix24.com/rest/',
    'https://acme.bitrix24.com/rest/#x',
    'https://acme.bitrix24.com/rest/1/abcdef123456/',
  ])('refuses %s', (raw) => {
    expect(checkRestUrl(raw).ok).toBe(false);
  });
});

describe('parseListen', () => {
  it.each([
    ['0.0.0.0:9464', { host: '0.0.0.0', port: 9464 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['localhost:65535', { host: 'localhost', port: 65_535 }],
    ['[::1]:9464', { host: '::1', port: 9464 }],
    ['[::]:80', { host: '::', port: 80 }],
    ['monitor.internal:9464', { host: 'monitor.internal', port: 9464 }],
  ])('%s', (raw, expected) => {
    expect(parseListen(raw)).toEqual({ ok: true, value: expected });
  });

  it.each([
    '9464',
    ':9464',
    'host:',
    'host:65536',
    'host:-1',
    '::1:9464',
    '[1.2.3.4]:80',
    'a_b:80',
    'host:80:80',
  ])('refuses %s', (raw) => {
    expect(parseListen(raw).ok).toBe(false);
  });
});

describe('checkCron', () => {
  it.each(['*/30 * * * * *', '* * * * *', '0 */5 * * * *'])('accepts %s', (expression) => {
    expect(checkCron(expression)).toEqual({ ok: true, value: expression });
  });

  it.each(['', 'every minute', '61 * * * * *', '* * * * * * *'])('refuses %j', (expression) => {
    expect(checkCron(expression).ok).toBe(false);
  });
});

describe('fileNameOf', () => {
  it.each([
    ['acme.bitrix24.com', 'acme.bitrix24.com'],
    ['127.0.0.1:8080', '127.0.0.1_8080'],
    ['../../etc/passwd', '__.._etc_passwd'],
    ['Acme (prod)', 'Acme_prod_'],
    ['', 'portal'],
  ])('%j → %j', (name, expected) => {
    expect(fileNameOf(name)).toBe(expected);
  });
});

describe('closest', () => {
  it('suggests a near key, and nothing for a far one', () => {
    expect(closest('clientSecert', ['clientId', 'clientSecret'])).toBe('clientSecret');
    expect(closest('URL', ['url', 'name'])).toBe('url');
    expect(closest('colour', ['url', 'name', 'schedule'])).toBeUndefined();
  });
});

describe('problem text', () => {
  it('redacts credentials of URLs', () => {
    expect(redactUrl('https://user:pw@host/rest/')).toBe('https://[redacted]@host/rest/');
    expect(redactUrl('https://host/rest/12/abcdef/')).toBe('https://host/rest/12/[redacted]/');
  });

  it('shows values by type', () => {
    expect(showValue('x')).toBe('"x"');
    expect(showValue(5)).toBe('5');
    expect(showValue([1, 2])).toBe('a list of 2');
    expect(showValue({ a: 1 })).toBe('a mapping');
    expect(showValue('s3cr3t', 'secret')).toBe('[redacted]');
    expect(showValue('y'.repeat(500))).toHaveLength(123);
  });

  it('scrubs known secrets, longest first (the registry that scrubs config problems)', () => {
    const secrets = new SecretRegistry();
    for (const secret of ['abcdef', 'abcdefgh']) secrets.add(secret);
    expect(secrets.scrub('a abcdef abcdefgh')).toBe('a [redacted] [redacted]');
  });

  it('formats one message listing every problem', () => {
    const message = formatProblems([
      {
        field: 'portals[3].url',
        value: '"ftp://x"',
        expected: 'expected an https:// URL',
        file: '/etc/m.yaml',
      },
      { field: 'LOG_LEVEL', value: '"loud"', expected: 'expected one of info, debug' },
      { field: 'B24_CLIENT_SECRET', expected: 'not set — expected a secret' },
    ]);

    expect(message).toBe(
      [
        'Invalid configuration (3 problems; config file /etc/m.yaml):',
        '  - portals[3].url: "ftp://x" — expected an https:// URL',
        '  - LOG_LEVEL: "loud" — expected one of info, debug',
        '  - B24_CLIENT_SECRET: not set — expected a secret',
      ].join('\n'),
    );
  });
});

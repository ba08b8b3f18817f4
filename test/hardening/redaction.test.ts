/**
 * Redaction that costs the same on day 300 as on day 1 and cannot throw: the registry holds
 * only the pairs in use (and the one just replaced, for a while), and finds them without a
 * regular expression.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TokenManager } from '../../src/b24/tokens.js';
import { createLogger } from '../../src/runtime/log.js';
import { REPLACED_GRACE_MS, SecretRegistry } from '../../src/runtime/secrets.js';
import { memoryStore, recordingObserver } from '../b24/helpers.js';

function token(kind: string, n: number, length = 64): string {
  return `${kind}-${String(n).padStart(8, '0')}-`.padEnd(length, 'x');
}

function capture(secrets: SecretRegistry) {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', secrets, destination }), raw };
}

describe('the secret registry', () => {
  it('holds a fixed number of values however many refreshes there were', () => {
    const secrets = new SecretRegistry();
    secrets.add('client-secret-zzzzzzzz');

    for (let i = 0; i < 100_000; i++) {
      secrets.replace('portal-a', [token('access', i), token('refresh', i)]);
    }

    // the config secret, the pair in use and the pair it replaced
    expect(secrets.size).toBe(5);
    expect(secrets.scrub(`a ${token('refresh', 99_999)} b`)).toBe('a [redacted] b');
    expect(secrets.scrub(`a ${token('refresh', 99_998)} b`)).toBe('a [redacted] b');
    expect(secrets.scrub(`a ${token('refresh', 99_997)} b`)).toBe(
      `a ${token('refresh', 99_997)} b`,
    );
  });

  it('keeps the replaced pair only for the grace period', () => {
    let now = 1_000_000;
    const secrets = new SecretRegistry({ now: () => now });
    secrets.replace('p', [token('access', 1), token('refresh', 1)]);
    secrets.replace('p', [token('access', 2), token('refresh', 2)]);

    expect(secrets.scrub(token('refresh', 1))).toBe('[redacted]');
    now += REPLACED_GRACE_MS + 1;

    expect(secrets.scrub(token('refresh', 1))).toBe(token('refresh', 1));
    expect(secrets.scrub(token('refresh', 2))).toBe('[redacted]');
    expect(secrets.size).toBe(2);
  });

  it.each([
    ['a few values (indexOf)', 3],
    ['many portals (keyed scan)', 400],
  ])('finds every value with %s, JSON-escaped ones too', (_name, portals) => {
    const secrets = new SecretRegistry();
    for (let p = 0; p < portals; p++) {
      secrets.replace(`portal-${p}`, [token('access', p), token('refresh', p)]);
    }
    const quoted = 'sec"ret\\with-quotes';
    secrets.add(quoted);
    const last = portals - 1;
    const line = JSON.stringify({
      msg: `x${token('access', 0)}y ${token('refresh', last)}${token('access', last)}`,
      q: quoted,
    });

    const scrubbed = secrets.scrub(line);

    expect(JSON.parse(scrubbed)).toEqual({
      msg: 'x[redacted]y [redacted][redacted]',
      q: '[redacted]',
    });
  });

  it('an oversized token (64 KB) neither throws nor leaks: the line is scrubbed', () => {
    const secrets = new SecretRegistry();
    const huge = token('refresh', 7, 64 * 1024);
    secrets.replace('p', [token('access', 7), huge]);
    secrets.add('client-secret-zzzzzzzz');
    const { logger, raw } = capture(secrets);

    logger.warn({ detail: `echo ${huge} client-secret-zzzzzzzz` }, 'Odd answer');

    expect(raw).toHaveLength(1);
    expect(JSON.parse(raw[0] ?? '')).toMatchObject({ detail: 'echo [redacted] [redacted]' });
  });
});

describe('the token manager and the registry', () => {
  it('registers each new pair (and the stored one) and logs `portal` once per line', async () => {
    const secrets = new SecretRegistry();
    const { logger, raw } = capture(secrets);
    let n = 0;
    const huge = token('refresh-huge', 0, 40_000);
    const tokens = new TokenManager({
      portal: 'acme',
      store: memoryStore({ refreshToken: token('refresh', 0), accessToken: token('access', 0) }),
      oauth: { oauthUrl: 'http://127.0.0.1:9/', clientId: 'app', clientSecret: 'secret-secret' },
      observer: recordingObserver(),
      logger: logger.child({ portal: 'acme' }),
      secrets,
      exchange: async () => {
        n += 1;
        return {
          accessToken: token('access', n),
          refreshToken: n === 3 ? huge : token('refresh', n),
        };
      },
    });

    await tokens.accessToken();
    for (let i = 0; i < 3; i++) await tokens.refresh();
    logger.info({ seen: `${huge} ${token('access', 3)} ${token('refresh', 2)}` }, 'Echo');

    expect(secrets.size).toBe(4);
    expect(raw.at(-1)).toContain('"seen":"[redacted] [redacted] [redacted]"');
    const refreshed = raw.filter((line) => line.includes('Access token refreshed'));
    expect(refreshed).toHaveLength(3);
    for (const line of refreshed) expect(line.split('"portal"')).toHaveLength(2);
  });
});

import { describe, expect, it } from 'vitest';
import { buildMonitor } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { ordinalOfHost, owned, ownerOf } from '../../src/shard/rendezvous.js';
import { BASE_ENV, SECRETS, expectConfig } from '../config/helpers.js';
import { captureLogger } from '../helpers/logs.js';

const NAMES = Array.from({ length: 1000 }, (_, i) => ({ name: `portal-${i}.bitrix24.com` }));

describe('rendezvous ownership', () => {
  it.each([1, 2, 3, 4, 7, 16])('gives every portal to exactly one of %i shards', (shards) => {
    const owners = new Map<string, number>();
    for (let shard = 0; shard < shards; shard++) {
      for (const { name } of owned(NAMES, { shard, shards })) {
        expect(owners.has(name), `${name} owned twice`).toBe(false);
        owners.set(name, shard);
      }
    }
    expect(owners.size).toBe(NAMES.length);
    // the split is balanced enough to be useful: no shard above twice its share
    const counts = Array.from(
      { length: shards },
      (_, s) => [...owners.values()].filter((o) => o === s).length,
    );
    for (const count of counts) expect(count).toBeLessThan((2 * NAMES.length) / shards);
  });

  it.each([1, 2, 3, 4, 8, 15])(
    'moves at most 1.5/(N+1) of 1,000 portals from %i to N+1 shards, all to the new shard',
    (n) => {
      const moved = NAMES.filter(({ name }) => ownerOf(name, n) !== ownerOf(name, n + 1));
      expect(moved.length).toBeLessThanOrEqual((1.5 * NAMES.length) / (n + 1));
      expect(moved.length).toBeGreaterThan(0);
      for (const { name } of moved) expect(ownerOf(name, n + 1)).toBe(n);
    },
  );

  it('is stable: the same owners on every call (fixed hash, not a random seed)', () => {
    expect(ownerOf('acme.bitrix24.com', 4)).toBe(ownerOf('acme.bitrix24.com', 4));
    expect(NAMES.slice(0, 12).map(({ name }) => ownerOf(name, 4))).toMatchInlineSnapshot(`
      [
        1,
        1,
        0,
        0,
        1,
        2,
        1,
        0,
        0,
        0,
        1,
        0,
      ]
    `);
  });

  it('reads the ordinal at the end of a StatefulSet pod name', () => {
    expect(ordinalOfHost('monitor-3')).toBe(3);
    expect(ordinalOfHost('b24-offline-monitor-12')).toBe(12);
    expect(ordinalOfHost('worker7')).toBe(7);
    expect(ordinalOfHost('monitor')).toBeUndefined();
  });
});

describe('shard settings', () => {
  const env = { ...BASE_ENV };

  it('defaults to one shard, shard 0, token files', () => {
    const { config } = expectConfig(loadConfig({ env, cwd: '/tmp' }));
    expect(config).toMatchObject({ shards: 1, shard: 0, tokenStore: undefined });
  });

  it('takes MONITOR_SHARDS and MONITOR_SHARD=auto from the host name', () => {
    const { config } = expectConfig(
      loadConfig({
        env: { ...env, MONITOR_SHARDS: '4', MONITOR_SHARD: 'auto' },
        cwd: '/tmp',
        hostname: 'monitor-3',
      }),
    );
    expect(config).toMatchObject({ shards: 4, shard: 3 });
  });

  it('refuses auto on a host name without an ordinal, and a shard beyond the count', () => {
    const auto = loadConfig({
      env: { ...env, MONITOR_SHARDS: '4', MONITOR_SHARD: 'auto' },
      cwd: '/tmp',
      hostname: 'laptop',
    });
    expect(auto.ok).toBe(false);
    if (!auto.ok) {
      expect(auto.problems).toEqual([
        expect.objectContaining({ field: 'MONITOR_SHARD', value: 'auto (host name "laptop")' }),
      ]);
    }
    const beyond = loadConfig({
      env: { ...env, MONITOR_SHARDS: '2', MONITOR_SHARD: '2' },
      cwd: '/tmp',
    });
    expect(beyond.ok).toBe(false);
    if (!beyond.ok) expect(beyond.problems[0]?.field).toBe('MONITOR_SHARD');
    const zero = loadConfig({ env: { ...env, MONITOR_SHARDS: '0' }, cwd: '/tmp' });
    expect(zero.ok).toBe(false);
    if (!zero.ok) expect(zero.problems[0]?.field).toBe('MONITOR_SHARDS');
  });

  it('takes a redis:// token store and never shows its password in a problem', () => {
    const url = `redis://monitor:${SECRETS.password}@redis.example:6379/2`;
    const { config } = expectConfig(
      loadConfig({ env: { ...env, MONITOR_TOKEN_STORE: url }, cwd: '/tmp' }),
    );
    expect(config.tokenStore).toBe(url);
    expect(config.secrets).toContain(url);
    const bad = loadConfig({
      env: { ...env, MONITOR_TOKEN_STORE: `http://u:${SECRETS.password}@h:1/0` },
      cwd: '/tmp',
    });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.problems[0]?.field).toBe('MONITOR_TOKEN_STORE');
      expect(JSON.stringify(bad.problems)).not.toContain(SECRETS.password);
    }
  });
});

describe('a monitor built as one shard', () => {
  it('polls and exports only the portals it owns, and says which shard it is', async () => {
    const portals = Array.from(
      { length: 12 },
      (_, i) =>
        `  - { name: p${i}.example, url: "https://p${i}.bitrix24.com/rest/", refreshToken: rt-${i}-abcdefgh }`,
    );
    const file = [
      'defaults:',
      '  clientId: app.5f3c1e2a4b6d71.12345678',
      `  clientSecret: ${SECRETS.clientSecret}`,
      'portals:',
      ...portals,
      '',
    ].join('\n');
    const loaded = loadConfig({
      env: { MONITOR_CONFIG: '/etc/monitor.yaml', MONITOR_SHARDS: '3', MONITOR_SHARD: '1' },
      readFile: () => file,
      statFile: () => ({ mode: 0o100600 }),
    });
    const { config } = expectConfig(loaded);
    const monitor = buildMonitor(config, { logger: captureLogger().logger });
    try {
      const mine = config.portals.map((p) => p.name).filter((name) => ownerOf(name, 3) === 1);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.length).toBeLessThan(12);
      expect(monitor.pollers.map((p) => p.name)).toEqual(mine);
      const text = await monitor.metrics.registry.metrics();
      expect(text).toContain('b24_offline_shard_info{shard="1",shards="3"} 1');
      expect(text).toContain(`b24_offline_shard_portals ${mine.length}`);
      expect(text).not.toContain('b24_offline_token_store_up'); // token files: no Redis gauge
    } finally {
      await monitor.close();
    }
  });
});

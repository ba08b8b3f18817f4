/**
 * The status page over HTTP (what the browser test does not need a browser for): escaping,
 * a portal's own page, unknown portals, authentication, the words for every failure reason
 * and ages in human units.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FAILURE_REASONS } from '../../src/b24/errors.js';
import { startHttpServer, type MonitorServer } from '../../src/http/server.js';
import {
  compareWorstFirst,
  humanAge,
  reasonInWords,
  type PortalStatus,
} from '../../src/http/statusModel.js';
import { startHarness, type Harness } from '../helpers/harness.js';

let harness: Harness | undefined;
let extra: MonitorServer | undefined;
afterEach(async () => {
  await extra?.close();
  extra = undefined;
  await harness?.close();
  harness = undefined;
});

async function get(base: string, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, { headers });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body: await response.text(),
  };
}

/** The text of the page's cells, tags removed (entities left as sent). */
function cellsOf(html: string, tableId: string): string[][] {
  const table = new RegExp(`<table id="${tableId}">([\\s\\S]*?)</table>`).exec(html)?.[1] ?? '';
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? '';
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...(row[1] ?? '').matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((cell) =>
      (cell[1] ?? '')
        .replace(/<[^>]+>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim(),
    ),
  );
}

describe('status page over HTTP', () => {
  it('/ lists the portal with its health, rows by status and ages; its own page lists event names', async () => {
    harness = await startHarness({ portal: { events: ['ONCRMLEADADD', 'ONCRMDEALADD'] } });
    const now = Date.now();
    harness.portal.fill({
      counts: { ONCRMLEADADD: { queued: 4, error: 2, reserved: 1 }, ONCRMDEALADD: { queued: 1 } },
      newestMs: now - 60_000,
      oldestMs: now - 2 * 3600_000,
    });
    await harness.monitor.pollOnce();
    const base = harness.server!.url;

    const page = await get(base, '/');
    const own = await get(base, '/portal/portal');

    expect(page.type).toMatch(/^text\/html/);
    const [row] = cellsOf(page.body, 'portals');
    expect(row?.slice(0, 6)).toEqual(['portal', 'error rows', '8', '5', '1', '2']);
    expect(row?.[6]).toMatch(/^(1 h \d+ min|2 h)$/);
    expect(row?.[8]).toMatch(/^\d+ s ago$/);
    expect(row?.[9]).toMatch(/^\d+ ms · 1 req · count$/);
    expect(page.body).toContain('<meta http-equiv="refresh" content="30">');
    expect(page.body).toContain('href="/metrics"');
    expect(own.status).toBe(200);
    expect(cellsOf(own.body, 'events').map((r) => r.slice(0, 4))).toEqual([
      ['ONCRMLEADADD', '4', '1', '2'],
      ['ONCRMDEALADD', '1', '0', '0'],
    ]);
  });

  it('escapes every text: a portal name with markup is shown, never interpreted', async () => {
    const evil = `<img src=x onerror="alert(1)">&'`;
    harness = await startHarness({ env: { B24_PORTAL_NAME: evil } });
    await harness.monitor.pollOnce();
    const base = harness.server!.url;

    const page = await get(base, `/?q=${encodeURIComponent('<script>')}`);
    const list = await get(base, '/');
    const own = await get(base, `/portal/${encodeURIComponent(evil)}`);

    for (const body of [page.body, list.body, own.body]) {
      expect(body).not.toContain('<img');
      expect(body).not.toContain('<script');
    }
    expect(list.body).toContain('&#60;img src=x onerror=&#34;alert(1)&#34;&#62;&#38;&#39;');
    expect(page.body).toContain('value="&#60;script&#62;"');
    expect(own.status).toBe(200);
  });

  it('an unknown portal is a 404 page; an unknown path a plain 404', async () => {
    harness = await startHarness();
    const base = harness.server!.url;

    const unknown = await get(base, '/portal/nope');
    const badEncoding = await get(base, '/portal/%E0%A4%A');
    const other = await get(base, '/portals');

    expect(unknown.status).toBe(404);
    expect(unknown.body).toContain('No portal named “nope”');
    expect(badEncoding.status).toBe(404);
    expect(other.status).toBe(404);
    expect(other.type).toMatch(/^text\/plain/);
  });

  it("a portal's page asks for the same credentials as / and /metrics", async () => {
    harness = await startHarness();
    extra = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics: harness.monitor.metrics,
      pollers: harness.monitor.pollers,
      logger: harness.log.logger,
      version: 'test',
      auth: { bearerToken: 'status-page-token' },
    });

    const anonymous = await get(extra.url, '/portal/portal');
    const unknown = await get(extra.url, '/portal/nope');
    const allowed = await get(extra.url, '/portal/portal', {
      authorization: 'Bearer status-page-token',
    });

    expect(anonymous.status).toBe(401);
    // Whether a portal exists is not told before authentication either.
    expect(unknown.status).toBe(401);
    expect(allowed.status).toBe(200);
  });

  it('pages the list: 50 a page, the page kept in range', async () => {
    harness = await startHarness();
    await harness.monitor.pollOnce();

    const far = await get(harness.server!.url, '/?page=99');
    const junk = await get(harness.server!.url, '/?page=abc');

    expect(cellsOf(far.body, 'portals')).toHaveLength(1);
    expect(far.body).toContain('Portals 1–1 of 1');
    expect(junk.status).toBe(200);
  });
});

describe('status page words', () => {
  it.each([...FAILURE_REASONS])('reason %s has words of its own', (reason) => {
    expect(reasonInWords(reason)).not.toBe(reason);
    expect(reasonInWords(reason).length).toBeGreaterThan(10);
  });

  it.each([
    [0, '0 s'],
    [59.4, '59 s'],
    [60, '1 min'],
    [3599, '59 min'],
    [3600, '1 h'],
    [7500, '2 h 5 min'],
    [86_400, '1 d'],
    [2 * 86_400 + 4 * 3600 + 59, '2 d 4 h'],
  ])('%s s is %s', (seconds, text) => {
    expect(humanAge(seconds)).toBe(text);
  });
});

describe('worst first', () => {
  const status = (name: string, fields: Partial<PortalStatus>): PortalStatus => ({
    name,
    health: 'ok',
    reason: null,
    reasonWords: null,
    errorMessage: null,
    depth: 0,
    counts: { queued: 0, reserved: 0, error: 0 },
    oldestQueuedAge: null,
    oldestErrorAge: null,
    lastPoll: null,
    lastSuccessAt: 1_000,
    ...fields,
  });

  it('orders failing (longest without success first), stale, waiting, errors (most first), late (oldest first), ok (by name)', () => {
    const list = [
      status('ok-b', {}),
      status('late-young', { health: 'late', oldestQueuedAge: 1000 }),
      status('errors-few', { health: 'errors', counts: { queued: 0, reserved: 0, error: 2 } }),
      status('failing-recent', { health: 'failing', lastSuccessAt: 5_000 }),
      status('waiting', { health: 'waiting', lastSuccessAt: null }),
      status('ok-a', {}),
      status('errors-many', { health: 'errors', counts: { queued: 0, reserved: 0, error: 90 } }),
      status('stale', { health: 'stale' }),
      status('late-old', { health: 'late', oldestQueuedAge: 9000 }),
      status('failing-never', { health: 'failing', lastSuccessAt: null }),
    ];

    expect(list.sort(compareWorstFirst).map((s) => s.name)).toEqual([
      'failing-never',
      'failing-recent',
      'stale',
      'waiting',
      'errors-many',
      'errors-few',
      'late-old',
      'late-young',
      'ok-a',
      'ok-b',
    ]);
  });
});

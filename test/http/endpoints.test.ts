/** The monitor's HTTP endpoints as a scraper and a person see them. */
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { parsePromText, valueOf } from '../helpers/promText.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${harness!.server!.url}${path}`, { headers });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body: await response.text(),
  };
}

describe('HTTP endpoints', () => {
  it('/readyz is 503 with a JSON reason until the first successful poll, then 200', async () => {
    harness = await startHarness({ portal: { events: ['ONCRMLEADADD'] } });

    const before = await get('/readyz');
    await harness.monitor.pollOnce();
    const after = await get('/readyz');

    expect(before.status).toBe(503);
    expect(JSON.parse(before.body)).toEqual({
      ready: false,
      portals: [{ portal: 'portal', reason: 'no successful poll yet' }],
    });
    expect(after.status).toBe(200);
    expect(JSON.parse(after.body)).toEqual({ ready: true, portals: [] });
  });

  it('/healthz answers 200 at once; unknown paths 404; other methods 405', async () => {
    harness = await startHarness();

    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/nope')).status).toBe(404);
    const post = await fetch(`${harness.server!.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('/metrics speaks Prometheus text, or OpenMetrics when the scraper asks for it', async () => {
    harness = await startHarness({ portal: { events: ['ONCRMLEADADD'] } });
    harness.portal.fill({ counts: { ONCRMLEADADD: { queued: 3 } } });
    await harness.monitor.pollOnce();

    const text = await get('/metrics');
    const open = await get('/metrics', { accept: 'application/openmetrics-text; version=1.0.0' });

    expect(text.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(valueOf(parsePromText(text.body), 'b24_offline_queue_depth', { portal: 'portal' })).toBe(
      3,
    );
    expect(text.body).toMatch(/# HELP b24_offline_events .*a scrape never calls Bitrix24/);
    expect(open.type).toMatch(/^application\/openmetrics-text/);
    expect(open.body.trimEnd().endsWith('# EOF')).toBe(true);
    expect(open.body).toContain('b24_offline_polls_total{portal="portal"} 1');
    expect(open.body).toContain('# TYPE b24_offline_polls counter');
  });

  it('a text scrape after an OpenMetrics scrape still names counters with _total', async () => {
    harness = await startHarness({ portal: { events: ['ONCRMLEADADD'] } });
    await harness.monitor.pollOnce();

    const [, , text] = await Promise.all([
      get('/metrics', { accept: 'application/openmetrics-text; version=1.0.0' }),
      get('/metrics', { accept: 'application/openmetrics-text; version=1.0.0' }),
      get('/metrics'),
    ]);

    expect(text.body).toContain('# TYPE b24_offline_polls_total counter');
    expect(valueOf(parsePromText(text.body), 'b24_offline_polls_total', { portal: 'portal' })).toBe(
      1,
    );
  });

  it('a scrape sends no request to the portal', async () => {
    harness = await startHarness({ portal: { events: ['ONCRMLEADADD'] } });
    await harness.monitor.pollOnce();
    const calls = harness.portal.journal.list().length;

    for (let i = 0; i < 5; i++) await get('/metrics');

    expect(harness.portal.journal.list().length).toBe(calls);
  });

  it('/ shows each portal with its status, depth and counts', async () => {
    harness = await startHarness({ portal: { events: ['ONCRMLEADADD'] } });
    harness.portal.fill({ counts: { ONCRMLEADADD: { queued: 4, error: 2, reserved: 1 } } });
    await harness.monitor.pollOnce();

    const page = await get('/');

    expect(page.type).toMatch(/^text\/html/);
    expect(page.body).toMatch(
      /<td>portal<\/td><td>up<\/td><td>[^<]+<\/td><td>\d+ s ago<\/td><td>7<\/td><td>4<\/td><td>1<\/td><td>2<\/td><td>count<\/td>/,
    );
    expect(page.body).toContain('href="/metrics"');
  });
});

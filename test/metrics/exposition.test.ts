/**
 * /metrics bodies are rendered once per change of the registry: a scrape after a poll sees
 * that poll, the cache serves unchanged values without a render, gzip and plain bodies are
 * the same exposition, and no more than one body per format and encoding is held.
 */
import { request as httpRequest } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Gauge } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMetrics } from '../../src/metrics/definitions.js';
import { ExpositionCache, type LargeGzipBody } from '../../src/metrics/exposition.js';
import { MetricsRenderer } from '../../src/metrics/render.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { parsePromText, valueOf } from '../helpers/promText.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Raw bytes of /metrics (node:http does not decode), with the answer's headers. */
function getRaw(url: string, headers: Record<string, string>) {
  return new Promise<{ body: Buffer; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = httpRequest(`${url}/metrics`, { headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ body: Buffer.concat(chunks), headers: response.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

function cacheOf(now: () => number = Date.now) {
  const metrics = createMetrics('0.0.0');
  const cache = new ExpositionCache(new MetricsRenderer(metrics), {
    maxAgeMs: 1_000,
    now,
  });
  const text = async (open = false) => (await cache.body(open, false)).toString('utf8');
  return { metrics, cache, text };
}

describe('/metrics on a real monitor', () => {
  it('a scrape right after a poll sees that poll; counters never go backwards', async () => {
    harness = await startHarness({ portal: { events: ['ONCRMLEADADD'] } });
    const url = harness.server!.url;
    const seen: { depth: number | undefined; polls: number | undefined }[] = [];
    for (const rows of [3, 5, 9]) {
      harness.portal.fill({ counts: { ONCRMLEADADD: { queued: rows } } });
      await harness.monitor.pollOnce();
      for (const gzip of [true, false]) {
        const { body } = await getRaw(url, gzip ? { 'accept-encoding': 'gzip' } : {});
        const samples = parsePromText((gzip ? gunzipSync(body) : body).toString('utf8'));
        seen.push({
          depth: valueOf(samples, 'b24_offline_queue_depth', { portal: 'portal' }),
          polls: valueOf(samples, 'b24_offline_polls_total', { portal: 'portal' }),
        });
      }
    }

    // fill() adds rows: 3, then 3 + 5, then 3 + 5 + 9
    expect(seen.map((s) => s.depth)).toEqual([3, 3, 8, 8, 17, 17]);
    expect(seen.map((s) => s.polls)).toEqual([1, 1, 2, 2, 3, 3]);
  });

  it('gzip and plain bodies decode to the same exposition, in both formats', async () => {
    harness = await startHarness({ portal: { events: ['ONCRMLEADADD', 'ONCRMDEALADD'] } });
    harness.portal.fill({ counts: { ONCRMLEADADD: { queued: 4, error: 1 } } });
    await harness.monitor.pollOnce();
    const url = harness.server!.url;
    for (const accept of ['text/plain', 'application/openmetrics-text; version=1.0.0']) {
      const plain = await getRaw(url, { accept });
      const gzip = await getRaw(url, { accept, 'accept-encoding': 'gzip' });

      expect(gzip.headers['content-encoding']).toBe('gzip');
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(Number(gzip.headers['content-length'])).toBe(gzip.body.length);
      expect(Number(plain.headers['content-length'])).toBe(plain.body.length);
      expect(gunzipSync(gzip.body).toString('utf8')).toBe(plain.body.toString('utf8'));
      expect(plain.body.toString('utf8')).toContain('b24_offline_queue_depth{portal="portal"} 5');
    }
  });
});

describe('ExpositionCache', () => {
  it('serves unchanged values without rendering again; any change renders anew', async () => {
    const { metrics, cache, text } = cacheOf();
    metrics.up.set({ portal: 'a' }, 1);

    const first = await text();
    const again = await text();
    const rendersUnchanged = cache.renders;
    metrics.up.set({ portal: 'a' }, 0);
    const afterSet = await text();
    metrics.polls.labels({ portal: 'a' }).inc();
    const afterLabelsInc = await text();
    metrics.up.remove({ portal: 'a' });
    const afterRemove = await text();

    expect(again).toBe(first);
    expect(rendersUnchanged).toBe(1);
    expect(afterSet).toContain('b24_offline_up{portal="a"} 0');
    expect(afterLabelsInc).toContain('b24_offline_polls_total{portal="a"} 1');
    expect(afterRemove).not.toContain('b24_offline_up{portal="a"}');
    expect(cache.renders).toBe(4);
  });

  it('a metric registered after the last render, and the age bound, render anew', async () => {
    let now = 0;
    const { metrics, cache, text } = cacheOf(() => now);
    await text();
    const late = new Gauge({ name: 'late_gauge', help: 'x', registers: [metrics.registry] });
    late.set(7);
    const withLate = await text();
    now = 999;
    await text();
    const rendersBeforeAge = cache.renders;
    now = 1_000;
    await text();

    expect(withLate).toContain('late_gauge 7');
    expect(rendersBeforeAge).toBe(2);
    expect(cache.renders).toBe(3);
  });

  it('a change during a render is not lost: the next scrape renders again', async () => {
    const { metrics, cache, text } = cacheOf();
    const labels = { portal: 'a', event_name: 'ONX', status: 'queued' };
    metrics.events.set(labels, 1);
    const during = text();
    // the render above is under way (it awaits each family); it may or may not see this
    metrics.events.set(labels, 2);
    const next = await text();
    await during;

    expect(cache.renders).toBe(2);
    expect(next).toContain('b24_offline_events{portal="a",event_name="ONX",status="queued"} 2');
  });

  it('concurrent scrapes of unchanged values share one render and one gzip', async () => {
    const { metrics, cache } = cacheOf();
    metrics.up.set({ portal: 'a' }, 1);

    const bodies = await Promise.all(Array.from({ length: 5 }, () => cache.body(false, true)));

    expect(cache.renders).toBe(1);
    expect(new Set(bodies).size).toBe(1);
  });

  it('holds at most one body per format and encoding, however often values change', async () => {
    const { metrics, cache } = cacheOf();
    const held: number[] = [];
    for (let i = 0; i < 40; i++) {
      metrics.queueDepth.set({ portal: 'a' }, i);
      for (const open of [false, true]) {
        for (const gzip of [false, true]) await cache.body(open, gzip);
        held.push(cache.heldBodies());
      }
    }

    expect(Math.max(...held)).toBe(4);
    expect(held.at(-1)).toBe(4);
    const open = (await cache.body(true, true)).subarray(0, 2);
    expect([...open]).toEqual([0x1f, 0x8b]);
  });
});

describe('ExpositionCache of a large exposition', () => {
  const large = (maxStaleMs: number) => {
    const metrics = createMetrics('0.0.0');
    // every body counts as large here: a real one is over 1 MB (~170 portals)
    const cache = new ExpositionCache(new MetricsRenderer(metrics), {
      maxStaleMs,
      staleAboveBytes: 0,
    });
    return { metrics, cache };
  };

  it('answers with the last body while its render started at most maxStaleMs ago', async () => {
    let now = 0;
    const metrics = createMetrics('0.0.0');
    const cache = new ExpositionCache(new MetricsRenderer(metrics), {
      maxStaleMs: 2_000,
      staleAboveBytes: 0,
      now: () => now,
    });
    const text = async () => (await cache.body(false, false)).toString('utf8');
    metrics.queueDepth.set({ portal: 'a' }, 1);
    await text();
    metrics.queueDepth.set({ portal: 'a' }, 2);
    now = 2_000;
    const stale = await text();
    const rendersWhileStale = cache.renders;
    now = 2_001;
    const fresh = await text();
    cache.close();

    expect(stale).toContain('b24_offline_queue_depth{portal="a"} 1');
    expect(rendersWhileStale).toBe(1);
    expect(fresh).toContain('b24_offline_queue_depth{portal="a"} 2');
    expect(cache.renders).toBe(2);
  });

  it('renders in the background just before the next expected scrape, and stops when scrapes stop', async () => {
    // Date and setTimeout faked, so the plan is checked to the millisecond, whatever the load
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { metrics, cache } = large(2_000);
      metrics.queueDepth.set({ portal: 'a' }, 1);
      await cache.body(false, true);
      // the gap is not known yet: rendered every second (half the bound) until the next scrape
      await vi.advanceTimersByTimeAsync(15_000);
      const rendersWarmingUp = cache.renders;
      await cache.body(false, true);
      const rendersAtScrapes = cache.renders;
      metrics.queueDepth.set({ portal: 'a' }, 2);
      // next scrape expected 15 s later: the render is planned 1 s (half the bound) before
      await vi.advanceTimersByTimeAsync(13_999);
      const rendersBefore = cache.renders;
      await vi.advanceTimersByTimeAsync(1);
      const rendersAhead = cache.renders;
      await vi.advanceTimersByTimeAsync(1_000);
      const next = gunzipSync(await cache.body(false, true)).toString('utf8');
      const rendersAfterNext = cache.renders;
      await vi.advanceTimersByTimeAsync(120_000);
      const rendersLater = cache.renders;
      cache.close();

      expect(rendersWarmingUp).toBe(1 + 15);
      expect(rendersAtScrapes).toBe(rendersWarmingUp);
      expect(rendersBefore).toBe(rendersAtScrapes);
      expect(rendersAhead).toBe(rendersAtScrapes + 1);
      // the scrape found the body rendered ahead (with gzip) and rendered nothing itself
      expect(next).toContain('b24_offline_queue_depth{portal="a"} 2');
      expect(rendersAfterNext).toBe(rendersAhead);
      // one more planned render after the last scrape, then none
      expect(rendersLater).toBe(rendersAfterNext + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('renders ahead from the start: the first scrape finds a body; without scrapes it stops after two minutes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { metrics, cache } = large(2_000);
      cache.renderAhead(true, true);
      metrics.queueDepth.set({ portal: 'a' }, 1);
      // every second (half the staleness bound) while no scrape has come
      await vi.advanceTimersByTimeAsync(30_000);
      const rendersAhead = cache.renders;
      metrics.queueDepth.set({ portal: 'a' }, 2);
      await vi.advanceTimersByTimeAsync(1_000);
      const first = gunzipSync(await cache.body(true, true)).toString('utf8');
      const rendersAtFirstScrape = cache.renders;
      cache.close();

      const idle = large(2_000);
      idle.cache.renderAhead(true, true);
      await vi.advanceTimersByTimeAsync(600_000);
      idle.cache.close();

      expect(rendersAhead).toBe(30);
      // the scrape was answered from the body rendered (and gzipped) a moment before
      expect(rendersAtFirstScrape).toBe(rendersAhead + 1);
      expect(first).toContain('b24_offline_queue_depth{portal="a"} 2');
      expect(first.endsWith('# EOF\n')).toBe(true);
      expect(idle.cache.renders).toBe(120);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops rendering ahead once a render shows the exposition small: each scrape renders that itself', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const metrics = createMetrics('0.0.0');
      metrics.queueDepth.set({ portal: 'a' }, 1);
      // the default bound: a body over 1 MB is large, this one is a few kB
      const cache = new ExpositionCache(new MetricsRenderer(metrics), { maxStaleMs: 2_000 });
      cache.renderAhead(true, true);
      await vi.advanceTimersByTimeAsync(600_000);
      cache.close();
      // the first render ahead, then one more look that finds it small
      expect(cache.renders).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('scrapes about a second apart never wait for a render of their own', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { metrics, cache } = large(2_000);
      metrics.queueDepth.set({ portal: 'a' }, 0);
      await cache.body(true, true);
      await vi.advanceTimersByTimeAsync(1_000);
      await cache.body(true, true);
      // irregular gaps, each under the 2-s bound, a change before every scrape
      const gaps = [900, 1_150, 300, 1_100, 950, 1_200, 1_050, 400, 1_190, 1_100, 1_000, 1_180];
      const renderedInScrape: number[] = [];
      for (const [i, gap] of gaps.entries()) {
        metrics.queueDepth.set({ portal: 'a' }, i + 1);
        await vi.advanceTimersByTimeAsync(gap);
        const before = cache.renders;
        // a scrape that renders itself starts it synchronously, before answering
        const body = cache.body(true, true);
        if (cache.renders > before) renderedInScrape.push(i);
        await body;
      }
      cache.close();

      expect(renderedInScrape).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a lone scrape renders in the background for a minute at most', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { metrics, cache } = large(2_000);
      metrics.queueDepth.set({ portal: 'a' }, 1);
      await cache.body(false, true);
      await vi.advanceTimersByTimeAsync(60_000);
      const rendersInAMinute = cache.renders;
      await vi.advanceTimersByTimeAsync(600_000);
      cache.close();

      // the scrape's render, then one a second while the next scrape is awaited
      expect(rendersInAMinute).toBe(1 + 60);
      expect(cache.renders).toBe(rendersInAMinute);
    } finally {
      vi.useRealTimers();
    }
  });
});

/** A cache that hands every body to a worker (`pushed`), with one queue gauge set. */
function workerFedCache() {
  const metrics = createMetrics('0.0.0');
  const pushed: LargeGzipBody[] = [];
  const cache = new ExpositionCache(new MetricsRenderer(metrics), {
    maxStaleMs: 2_000,
    // every body counts as large here: a real one is over 1 MB (~170 portals)
    staleAboveBytes: 0,
    onLargeGzip: (body) => pushed.push(body),
  });
  metrics.queueDepth.set({ portal: 'a' }, 0);
  return { metrics, pushed, cache };
}

describe('ExpositionCache feeding the metrics worker', () => {
  it('hands each large gzip body on; scrapes reported by scraped() keep the renders just ahead of them', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { metrics, pushed, cache } = workerFedCache();
      // the first scrape finds the worker empty-handed: the cache answers it
      const first = await cache.body(true, true);
      const firstPushed = pushed.length;
      // then Prometheus's 15 s, each scrape answered by the worker and reported
      const tooOld: number[] = [];
      let rendersAfterLearning = 0;
      for (let i = 0; i < 8; i++) {
        metrics.queueDepth.set({ portal: 'a' }, i + 1);
        await vi.advanceTimersByTimeAsync(14_500);
        // gzip runs in zlib's thread pool, in real time: let the renders started above finish
        for (let spins = 0; pushed.length < cache.renders && spins < 10_000; spins++)
          await new Promise((resolve) => setImmediate(resolve));
        await vi.advanceTimersByTimeAsync(500);
        const now = Date.now();
        if (now - pushed.at(-1)!.startedAt > 2_000) tooOld.push(i);
        if (i === 1) rendersAfterLearning = cache.renders;
        cache.scraped(true, now);
      }
      cache.close();

      expect(firstPushed).toBe(1);
      expect(pushed[0]!.openMetrics).toBe(true);
      expect(pushed[0]!.plainBytes).toBe(gunzipSync(first).length);
      expect(pushed[0]!.gzip).toEqual(first);
      // every reported scrape found a body at most maxStaleMs old to answer with
      expect(tooOld).toEqual([]);
      // once the gap is known, one render per scrape (the 6 gaps after the second scrape)
      expect(cache.renders - rendersAfterLearning).toBe(6);
      expect(gunzipSync(pushed.at(-1)!.gzip).toString('utf8')).toContain(
        'b24_offline_queue_depth{portal="a"} 8',
      );
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('ExpositionCache with several scrapers', () => {
  const PERIOD = 15_000;
  /** Scrapes of a Prometheus HA pair: `a` at 0, 15 s, 30 s…, `b` `offset` ms after each. */
  const pair = (periods: number, offset = 4_000) =>
    Array.from({ length: periods }, (_, i) => [
      { at: i * PERIOD, who: '10.0.0.1 Prometheus/3.0.1' },
      { at: i * PERIOD + offset, who: '10.0.0.2 Prometheus/3.0.1' },
    ]).flat();

  /**
   * A cache of a large exposition scraped by `scrapes` (ms from the start, rising), the
   * values changed before each: which scrapes had to render (none found a body at most 2 s
   * old), and the renders started by the time of each scrape.
   */
  async function run(scrapes: { at: number; who: string }[]) {
    const metrics = createMetrics('0.0.0');
    // every body counts as large here: a real one is over 1 MB (~170 portals)
    const cache = new ExpositionCache(new MetricsRenderer(metrics), {
      maxStaleMs: 2_000,
      staleAboveBytes: 0,
    });
    const start = Date.now();
    const renderedInScrape: string[] = [];
    const rendersAt = new Map<number, number>();
    for (const [i, { at, who }] of scrapes.entries()) {
      metrics.queueDepth.set({ portal: 'a' }, i);
      await vi.advanceTimersByTimeAsync(start + at - Date.now());
      rendersAt.set(at, cache.renders);
      // a scrape that renders itself starts it synchronously, before answering
      const body = cache.body(true, true, who);
      if (cache.renders > rendersAt.get(at)!) renderedInScrape.push(`${who} at ${at}`);
      await body;
    }
    return { cache, renderedInScrape, rendersAt };
  }

  it('a Prometheus HA pair 4 s apart: every scrape after the first finds a body, two renders a period', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { cache, renderedInScrape, rendersAt } = await run(pair(10));
      cache.close();

      // only the very first scrape waits for a render: the cache held nothing yet
      expect(renderedInScrape).toEqual(['10.0.0.1 Prometheus/3.0.1 at 0']);
      // from the second period on (both periods known): one render ahead of each scrape of
      // each server, 1 s before it; the body rendered for `a` is 5 s old for `b`
      const perPeriod = [];
      for (let i = 2; i < 9; i++)
        perPeriod.push(rendersAt.get((i + 1) * PERIOD)! - rendersAt.get(i * PERIOD)!);
      expect(perPeriod).toEqual([2, 2, 2, 2, 2, 2, 2]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an HA pair less than a second apart: one render a period serves both', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { cache, renderedInScrape, rendersAt } = await run(pair(6, 700));
      cache.close();

      expect(renderedInScrape).toEqual(['10.0.0.1 Prometheus/3.0.1 at 0']);
      // rendered 1 s before `a`'s scrape, the body is 1.7 s old at `b`'s
      const perPeriod = [];
      for (let i = 2; i < 5; i++)
        perPeriod.push(rendersAt.get((i + 1) * PERIOD)! - rendersAt.get(i * PERIOD)!);
      expect(perPeriod).toEqual([1, 1, 1]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a one-off client (curl) between the pair’s scrapes costs its own render only', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const curl = { at: 3 * PERIOD + 9_000, who: '192.0.2.7 curl/8.11.1' };
      const scrapes = [...pair(7), curl].sort((x, y) => x.at - y.at);
      const withCurl = await run(scrapes);
      withCurl.cache.close();
      const without = await run(pair(7));
      without.cache.close();

      // the curl came 5 s after `b`'s scrape, the newest body older than 2 s: it rendered
      expect(withCurl.renderedInScrape).toEqual([
        '10.0.0.1 Prometheus/3.0.1 at 0',
        '192.0.2.7 curl/8.11.1 at 54000',
      ]);
      // and nothing else changed: the same renders ahead of the pair's scrapes, plus its own
      const pairTimes = pair(7).map(({ at }) => at);
      expect(pairTimes.map((at) => withCurl.rendersAt.get(at)! - (at > curl.at ? 1 : 0))).toEqual(
        pairTimes.map((at) => without.rendersAt.get(at)),
      );
    } finally {
      vi.useRealTimers();
    }
  });

  it('a flood of one-off clients keeps at most 8 scrapers and does not displace the pair', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const flood = Array.from({ length: 200 }, (_, i) => ({
        at: 3 * PERIOD + 9_000,
        who: `198.51.100.${i} curl/8.11.1`,
      }));
      const { cache, renderedInScrape, rendersAt } = await run(
        [...pair(7), ...flood].sort((x, y) => x.at - y.at),
      );
      const tracked = cache.trackedScrapers();
      cache.close();

      // the first of the flood rendered; the 199 others (same ms) were answered with its body
      expect(renderedInScrape).toEqual([
        '10.0.0.1 Prometheus/3.0.1 at 0',
        '198.51.100.0 curl/8.11.1 at 54000',
      ]);
      expect(rendersAt.get(4 * PERIOD)! - rendersAt.get(3 * PERIOD)!).toBe(2 + 1);
      // still planned for after the flood: two renders a period, none in a scrape
      expect(rendersAt.get(6 * PERIOD)! - rendersAt.get(5 * PERIOD)!).toBe(2);
      expect(tracked).toBe(8);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('ExpositionCache feeding the metrics worker, scraped by an HA pair', () => {
  it('each server’s reported scrapes find a body at most maxStaleMs old', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { metrics, pushed, cache } = workerFedCache();
      // the first scrape finds the worker empty-handed: the cache answers it
      await cache.body(true, true, '10.0.0.1 Prometheus/3.0.1');
      const start = Date.now();
      // then each server every 15 s, the second 4 s after the first, answered by the worker
      const tooOld: string[] = [];
      const rendersAt: number[] = [];
      for (let i = 0; i < 16; i++) {
        const [who, at] =
          i % 2 === 0
            ? ['10.0.0.2 Prometheus/3.0.1', 4_000 + (i / 2) * 15_000]
            : ['10.0.0.1 Prometheus/3.0.1', ((i + 1) / 2) * 15_000];
        metrics.queueDepth.set({ portal: 'a' }, i + 1);
        await vi.advanceTimersByTimeAsync(start + at - 500 - Date.now());
        // gzip runs in zlib's thread pool, in real time: let the renders started above finish
        for (let spins = 0; pushed.length < cache.renders && spins < 10_000; spins++)
          await new Promise((resolve) => setImmediate(resolve));
        await vi.advanceTimersByTimeAsync(500);
        if (Date.now() - pushed.at(-1)!.startedAt > 2_000) tooOld.push(`${who} at ${at}`);
        rendersAt.push(cache.renders);
        cache.scraped(true, Date.now(), who);
      }
      cache.close();

      // the second server's first scrape, too: renders every second until both periods are known
      expect(tooOld).toEqual([]);
      // then one render ahead of each scrape (the 12 after both servers' second scrapes)
      expect(rendersAt.at(-1)! - rendersAt[3]!).toBe(12);
    } finally {
      vi.useRealTimers();
    }
  });
});

/**
 * The renderer writes what prom-client would, in both formats, only faster: the same families
 * in the same order, each with the same HELP and TYPE and the same sample lines (within a
 * family ours come grouped by portal, so lines are compared as sets), after any sequence of
 * changes, with only the changed portals formatted again. promtool accepts the result.
 */
import { spawnSync } from 'node:child_process';
import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics, type MonitorMetrics } from '../../src/metrics/definitions.js';
import { PortalMetrics } from '../../src/metrics/portalMetrics.js';
import { MetricsRenderer } from '../../src/metrics/render.js';
import { SnapshotBuilder } from '../../src/queue/snapshot.js';
import { needTool, PROMTOOL } from '../ops/tools.js';

const NOW = 1_800_000_000;
const ESCAPED = 'b "quoted"\\ portal\nnext line';

function poll(series: PortalMetrics, names: readonly string[], rows: number): void {
  const builder = new SnapshotBuilder(NOW, names);
  for (const name of names) {
    for (let i = 0; i < rows; i++) builder.add(name, 'queued', NOW - 100 * (i + 1));
  }
  if (rows > 1) builder.add(names[0] ?? 'ONCRMLEADADD', 'error', NOW - 90_000);
  series.pollStarted();
  series.pollSucceeded(builder.finish(2), {
    durationSeconds: 0.25,
    requests: 2,
    strategy: 'count',
    finishedAt: NOW,
  });
  series.request('batch');
  series.restError('batch', 'QUERY_LIMIT_EXCEEDED');
  series.operating('event.offline.list', 1.5 + rows);
}

function populated(): { metrics: MonitorMetrics; portals: Map<string, PortalMetrics> } {
  const metrics = createMetrics('1.2.3');
  const portals = new Map<string, PortalMetrics>();
  for (const portal of ['a.bitrix24.com', ESCAPED, 'c.bitrix24.com']) {
    const series = new PortalMetrics(metrics, portal);
    portals.set(portal, series);
    poll(series, ['ONCRMLEADADD', 'ONTASKADD'], 2);
  }
  return { metrics, portals };
}

/** A registry that renders the same metric objects as OpenMetrics through prom-client. */
async function openMetricsOf(metrics: MonitorMetrics): Promise<string> {
  const open = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
  open.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const names = new Map<{ name: string }, string>();
  for (const metric of metrics.registry.getMetricsAsArray()) {
    names.set(metric as unknown as { name: string }, (metric as unknown as { name: string }).name);
    open.registerMetric(metric as unknown as Parameters<typeof open.registerMetric>[0]);
  }
  const text = await open.metrics();
  // prom-client renamed the counters in place (`x_total` → `x`): undo it for later renders
  for (const [metric, name] of names) metric.name = name;
  return text;
}

/** Families in order: their comment lines as written, their sample lines sorted. */
function families(text: string): { comments: string[]; samples: string[] }[] {
  const out: { comments: string[]; samples: string[] }[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ') || line === '# EOF') out.push({ comments: [], samples: [] });
    const family = out.at(-1);
    if (family === undefined) throw new Error(`sample before any HELP: ${line}`);
    (line.startsWith('#') ? family.comments : family.samples).push(line);
  }
  for (const family of out) family.samples.sort();
  return out;
}

/** Same exposition as prom-client's, in both formats; also the same bytes when sorted. */
async function expectSameAsPromClient(
  renderer: MetricsRenderer,
  metrics: MonitorMetrics,
): Promise<string> {
  // text format first: prom-client renames counters while it renders OpenMetrics
  const text = await renderer.render(false);
  const expectedText = await metrics.registry.metrics();
  expect(families(text)).toEqual(families(expectedText));
  expect(text.length).toBe(expectedText.length);
  const open = await renderer.render(true);
  const expectedOpen = await openMetricsOf(metrics);
  expect(families(open)).toEqual(families(expectedOpen));
  expect(open.length).toBe(expectedOpen.length);
  expect(open.endsWith('\n# EOF\n')).toBe(true);
  return text;
}

describe('MetricsRenderer', () => {
  it('renders both formats as prom-client does, and leaves the text format intact', async () => {
    const { metrics } = populated();
    const renderer = new MetricsRenderer(metrics);

    const text = await expectSameAsPromClient(renderer, metrics);
    // prom-client renders OpenMetrics by renaming counters in place: ours must not follow
    const textAfter = await renderer.render(false);

    expect(textAfter).toBe(text);
    expect(await renderer.render(true)).toContain(
      'b24_offline_polls_total{portal="a.bitrix24.com"} 1',
    );
    expect(text).toContain('portal="b \\"quoted\\"\\\\ portal\\nnext line"');
  });

  it('stays equal to prom-client through changes, removals and resets', async () => {
    const { metrics, portals } = populated();
    const renderer = new MetricsRenderer(metrics);
    await expectSameAsPromClient(renderer, metrics);

    // new values; an event name that disappears (its label sets go); one that appears later
    poll(portals.get('a.bitrix24.com')!, ['ONTASKADD'], 5);
    poll(portals.get(ESCAPED)!, ['ONCRMLEADADD', 'ONTASKADD', 'ONCRMDEALADD'], 1);
    let text = await expectSameAsPromClient(renderer, metrics);
    expect(text).not.toMatch(
      /b24_offline_events\{portal="a\.bitrix24\.com",event_name="ONCRMLEADADD"/,
    );
    expect(text).toContain('event_name="ONCRMDEALADD"');

    // a portal removed: its queue gauges go (stale data), then every series of it
    portals.get('c.bitrix24.com')!.removeQueueSeries();
    await expectSameAsPromClient(renderer, metrics);
    for (const metric of metrics.registry.getMetricsAsArray()) {
      const gauge = metric as unknown as { remove(labels: Record<string, string>): void };
      const series = (metric as unknown as { hashMap: Record<string, { labels: object }> }).hashMap;
      for (const entry of Object.values(series)) {
        const labels = entry.labels as Record<string, string>;
        if (labels['portal'] === 'c.bitrix24.com') gauge.remove(labels);
      }
    }
    text = await expectSameAsPromClient(renderer, metrics);
    expect(text).not.toContain('c.bitrix24.com');

    // the ways around PortalMetrics: labels() children, positional remove, reset, inc by 0
    metrics.restOperating.labels({ portal: 'a.bitrix24.com', method: 'batch' }).set(7);
    metrics.pollRequests.labels('a.bitrix24.com').set(3);
    metrics.restRequests.labels({ portal: ESCAPED, method: 'batch' }).inc(2);
    metrics.up.remove(ESCAPED);
    metrics.statusEvents.set({ status: 'queued', portal: 'a.bitrix24.com' }, 4);
    await expectSameAsPromClient(renderer, metrics);
    metrics.events.reset();
    metrics.events.set({ portal: ESCAPED, event_name: 'X', status: 'error' }, 1);
    text = await expectSameAsPromClient(renderer, metrics);
    expect(text.match(/^b24_offline_events\{/gm)).toHaveLength(1);

    // a portal that comes back after all its series were removed
    new PortalMetrics(metrics, 'c.bitrix24.com');
    await expectSameAsPromClient(renderer, metrics);
  });

  it('takes in metrics registered after the first render', async () => {
    const { metrics } = populated();
    const renderer = new MetricsRenderer(metrics);
    await expectSameAsPromClient(renderer, metrics);
    const late = new Gauge({
      name: 'b24_offline_late',
      help: 'Registered late',
      labelNames: ['shard'],
      registers: [metrics.registry],
    });
    late.set({ shard: '1' }, 2);

    const text = await expectSameAsPromClient(renderer, metrics);

    expect(text).toContain('b24_offline_late{shard="1"} 2');
    late.set({ shard: '1' }, 3);
    expect(await expectSameAsPromClient(renderer, metrics)).toContain(
      'b24_offline_late{shard="1"} 3',
    );
  });

  it('formats again only the portals whose series changed since the last render', async () => {
    const { metrics, portals } = populated();
    const renderer = new MetricsRenderer(metrics);
    await renderer.render(false);
    const full = renderer.bucketsRendered;

    await renderer.render(false);
    const unchanged = renderer.bucketsRendered - full;
    poll(portals.get('a.bitrix24.com')!, ['ONCRMLEADADD', 'ONTASKADD'], 3);
    await renderer.render(false);
    const onePortal = renderer.bucketsRendered - full;

    expect(unchanged).toBe(0);
    // the metrics one poll touches, for one portal: far fewer than all three portals' buckets
    expect(onePortal).toBeGreaterThan(5);
    expect(onePortal).toBeLessThan(full / 3 + 1);
  });

  it('formats a changed portal soon after the change, so the next scrape only joins', async () => {
    const { metrics, portals } = populated();
    const renderer = new MetricsRenderer(metrics);
    await renderer.render(true);
    const full = renderer.bucketsRendered;

    poll(portals.get('a.bitrix24.com')!, ['ONCRMLEADADD', 'ONTASKADD'], 4);
    await new Promise((resolve) => setImmediate(resolve));
    const ahead = renderer.bucketsRendered - full;
    const open = await renderer.render(true);
    const atScrape = renderer.bucketsRendered - full - ahead;

    expect(ahead).toBeGreaterThan(5);
    // only the format asked for so far is formatted ahead; the scrape formats nothing more
    expect(atScrape).toBe(0);
    const beforeText = renderer.bucketsRendered;
    await renderer.render(false);
    // the text format, never scraped before, was not formatted ahead: all of it now
    expect(renderer.bucketsRendered - beforeText).toBe(full);
    expect(families(open)).toEqual(families(await openMetricsOf(metrics)));
    expect(open).toContain(
      'b24_offline_rest_operating_seconds{portal="a.bitrix24.com",method="event.offline.list"} 5.5',
    );
  });

  it('a first render (every series formatted) hands the event loop back; polls meanwhile leave every series once', async () => {
    const metrics = createMetrics('1.2.3');
    const portals: PortalMetrics[] = [];
    for (let i = 0; i < 1_000; i++) {
      const series = new PortalMetrics(metrics, `shop-${i}.bitrix24.com`);
      poll(series, ['ONCRMLEADADD', 'ONTASKADD'], 2);
      portals.push(series);
    }
    const renderer = new MetricsRenderer(metrics);
    // a chain of immediates, each one a turn of the event loop the render let through; the
    // first turns also poll some portals, as answers arriving during a render would
    let turns = 0;
    let handle: NodeJS.Immediate | undefined;
    const turn = (): void => {
      if (turns < 20) poll(portals[turns * 37] as PortalMetrics, ['ONTASKADD', 'ONX'], 3);
      turns++;
      handle = setImmediate(turn);
    };
    handle = setImmediate(turn);
    const open = await renderer.render(true);
    clearImmediate(handle);

    // a first render of ~50,000 series formats for far longer than one 8-ms slice
    expect(turns).toBeGreaterThanOrEqual(2);
    const samples = open.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    const series = samples.map((line) => line.slice(0, line.lastIndexOf(' ')));
    expect(new Set(series).size).toBe(series.length);
    // once nothing changes, the next render is what prom-client writes
    expect(families(await renderer.render(true))).toEqual(families(await openMetricsOf(metrics)));
  });

  it('writes an exposition promtool accepts', async (ctx) => {
    const promtool = needTool(ctx, PROMTOOL);
    const { metrics } = populated();
    const text = await new MetricsRenderer(metrics).render(false);

    const result = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });

    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  });
});

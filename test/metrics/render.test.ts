/** The renderer writes exactly what prom-client would, in both formats, only faster. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/definitions.js';
import { PortalMetrics } from '../../src/metrics/portalMetrics.js';
import { MetricsRenderer } from '../../src/metrics/render.js';
import { SnapshotBuilder } from '../../src/queue/snapshot.js';

function populated() {
  const metrics = createMetrics('1.2.3');
  const now = 1_800_000_000;
  for (const portal of ['a.bitrix24.com', 'b "quoted"\\ portal']) {
    const series = new PortalMetrics(metrics, portal);
    const builder = new SnapshotBuilder(now, ['ONCRMLEADADD', 'ONTASKADD']);
    builder.add('ONCRMLEADADD', 'queued', now - 100);
    builder.add('ONCRMLEADADD', 'error', now - 90_000);
    series.pollStarted();
    series.pollSucceeded(builder.finish(2), {
      durationSeconds: 0.25,
      requests: 2,
      strategy: 'count',
      finishedAt: now,
    });
    series.request('batch');
    series.restError('batch', 'QUERY_LIMIT_EXCEEDED');
    series.operating('event.offline.list', 1.5);
  }
  return metrics;
}

describe('MetricsRenderer', () => {
  it('renders the Prometheus text format exactly as prom-client does', async () => {
    const metrics = populated();

    const ours = await new MetricsRenderer(metrics).render(false);

    expect(ours).toBe(await metrics.registry.metrics());
  });

  it('renders OpenMetrics exactly as prom-client does, and leaves the text format intact', async () => {
    const metrics = populated();
    const renderer = new MetricsRenderer(metrics);
    const ours = await renderer.render(true);
    const textAfter = await renderer.render(false);
    const expectedText = await metrics.registry.metrics();
    const openRegistry = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
    openRegistry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    for (const metric of metrics.registry.getMetricsAsArray()) {
      openRegistry.registerMetric(
        metric as unknown as Parameters<typeof openRegistry.registerMetric>[0],
      );
    }

    expect(ours).toBe(await openRegistry.metrics());
    expect(textAfter).toBe(expectedText);
    expect(ours).toContain('b24_offline_polls_total{portal="a.bitrix24.com"} 1');
  });

  it('reflects new values and removed series on the next render', async () => {
    const metrics = populated();
    const renderer = new MetricsRenderer(metrics);
    await renderer.render(false);

    metrics.polls.inc({ portal: 'a.bitrix24.com' });
    metrics.queueDepth.remove({ portal: 'b "quoted"\\ portal' });
    const after = await renderer.render(false);

    expect(after).toContain('b24_offline_polls_total{portal="a.bitrix24.com"} 2');
    expect(after).not.toContain('b24_offline_queue_depth{portal="b');
    expect(after).toBe(await metrics.registry.metrics());
  });
});

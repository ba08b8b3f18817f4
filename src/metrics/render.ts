/**
 * Renders the registry in Prometheus text or OpenMetrics format.
 *
 * prom-client 15 renames counters in place while it renders OpenMetrics (`x_total` → `x`,
 * the suffix then added per sample), and never renames them back: shared metric objects
 * would then serve `b24_offline_polls` instead of `b24_offline_polls_total` to every later
 * text-format scrape. So renders run one at a time, and after an OpenMetrics render the
 * counters get their names back.
 */
import type { MonitorMetrics } from './definitions.js';

export class MetricsRenderer {
  readonly #metrics: MonitorMetrics;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(metrics: MonitorMetrics) {
    this.#metrics = metrics;
  }

  render(openMetrics: boolean): Promise<{ contentType: string; body: string }> {
    const next = this.#queue.then(() => this.#render(openMetrics));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #render(openMetrics: boolean): Promise<{ contentType: string; body: string }> {
    if (!openMetrics) {
      const { registry } = this.#metrics;
      return { contentType: registry.contentType, body: await registry.metrics() };
    }
    const registry = this.#metrics.openMetricsRegistry;
    try {
      return { contentType: registry.contentType, body: await registry.metrics() };
    } finally {
      for (const metric of registry.getMetricsAsArray() as unknown as {
        type: string;
        name: string;
      }[]) {
        if (metric.type === 'counter' && !metric.name.endsWith('_total'))
          metric.name = `${metric.name}_total`;
      }
    }
  }
}

/** Registries whose exposition is large enough for the metrics worker to answer it itself. */
import { createMetrics, type MonitorMetrics } from '../../src/metrics/definitions.js';

/** A registry of `series` event series (~100 bytes each): 20,000 make a large exposition. */
export function metricsWith(series: number): MonitorMetrics {
  const metrics = createMetrics('0.0.0');
  for (let i = 0; i < series; i++)
    metrics.events.set({ portal: 'p', event_name: `ONEVENT${i}`, status: 'queued' }, i);
  return metrics;
}

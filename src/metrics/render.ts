/**
 * Renders the monitor's registry in the Prometheus text format or OpenMetrics.
 *
 * The values live in prom-client's metrics; the text is written here, for two reasons:
 * - speed: a thousand portals make ~75,000 series, and prom-client formats every label of
 *   every series on every scrape (~200 ms, mostly garbage). Here the `name{labels} ` prefix
 *   of a series is formatted once and kept with the series' label object, so a scrape only
 *   appends values and joins strings;
 * - correctness: prom-client 15 renames counters in place while it renders OpenMetrics
 *   (`x_total` → `x`) and never renames them back, so shared metric objects would serve
 *   `b24_offline_polls` instead of `b24_offline_polls_total` to later text-format scrapes.
 * Each call renders anew; ExpositionCache (exposition.ts) shares one render between scrapes.
 *
 * Version pin: the prefix cache below relies on prom-client internals, not its API: the shape
 * of what `metric.get()` answers and each metric's `hashMap` of series keys. prom-client's
 * main branch has already changed those internals, so package.json pins prom-client to
 * `~15.1.3`, the minor version this was written and tested against. Before allowing a newer
 * one, check test/metrics (and the README's metrics reference) against it; rendering from the
 * project's own values would remove the dependency on internals.
 */
import { Registry } from 'prom-client';
import type { MonitorMetrics } from './definitions.js';

const TEXT_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;

interface Sample {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly values: readonly Sample[];
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(value: string | number): string {
  return typeof value === 'string' ? escapeHelp(value).replace(/"/g, '\\"') : String(value);
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return String(value);
}

function prefixOf(sampleName: string, labels: Sample['labels']): string {
  let text = '';
  for (const key in labels) {
    const value = labels[key];
    if (value === undefined) continue;
    text += `${text === '' ? '' : ','}${key}="${escapeLabelValue(value)}"`;
  }
  return text === '' ? `${sampleName} ` : `${sampleName}{${text}} `;
}

type PrefixCache = Map<string, string>;

/** Removed series a prefix cache may hold beyond the live ones before it is rebuilt. */
const STALE_SLACK = 1_000;

export class MetricsRenderer {
  readonly #metrics: MonitorMetrics;
  /**
   * Formatted prefixes per metric and format, by prom-client's key of the series (its label
   * hash in `hashMap`). Not by entry object: a gauge's entry is replaced on every set, so
   * after a round of polls nearly every prefix would be formatted again. Rebuilt when series
   * that are gone make up a third of it, so removed label sets do not pile up.
   */
  readonly #prefixes = {
    text: new WeakMap<object, PrefixCache>(),
    open: new WeakMap<object, PrefixCache>(),
  };

  constructor(metrics: MonitorMetrics) {
    this.#metrics = metrics;
  }

  contentType(openMetrics: boolean): string {
    return openMetrics ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE;
  }

  /** The whole exposition, as the registry holds it now. */
  async render(openMetrics: boolean): Promise<string> {
    // One growing string: V8 concatenates in O(1) and flattens once, several times faster
    // than pushing 75,000 lines into an array and joining it.
    let out = '';
    const prefixes = openMetrics ? this.#prefixes.open : this.#prefixes.text;
    for (const metric of this.#metrics.registry.getMetricsAsArray()) {
      const family = await (metric as unknown as { get(): Promise<Family> }).get();
      const counter = family.type === 'counter';
      const familyName = openMetrics && counter ? family.name.replace(/_total$/, '') : family.name;
      const sampleName = openMetrics && counter ? `${familyName}_total` : family.name;
      if (out !== '' && !openMetrics) out += '\n';
      out += `# HELP ${familyName} ${escapeHelp(family.help)}\n# TYPE ${familyName} ${family.type}\n`;
      // the same object `get()` took its values from (prom-client 15: `hashMap`)
      const series = (metric as unknown as { hashMap?: Record<string, Sample> }).hashMap ?? {};
      let cache = prefixes.get(metric);
      if (cache === undefined) prefixes.set(metric, (cache = new Map()));
      let live = 0;
      for (const key in series) {
        const sample = series[key] as Sample;
        let prefix = cache.get(key);
        if (prefix === undefined) {
          prefix = prefixOf(sampleName, sample.labels);
          cache.set(key, prefix);
        }
        out += prefix + formatValue(sample.value) + '\n';
        live++;
      }
      if (cache.size > live + live / 2 + STALE_SLACK) {
        const kept: PrefixCache = new Map();
        for (const key in series) kept.set(key, cache.get(key) as string);
        prefixes.set(metric, kept);
      }
    }
    return openMetrics ? `${out}# EOF\n` : out;
  }
}

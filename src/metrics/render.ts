/**
 * Renders the monitor's registry in the Prometheus text format or OpenMetrics.
 *
 * The values live in prom-client's metrics; the text is written here, for two reasons:
 * - speed: a shard of 2,500 portals holds ~140,000 series (12 MB) and its portals poll every
 *   30 s, so some of them change between any two scrapes, but only some. The formatted lines
 *   are kept per metric and portal (tracker.ts says which portals changed); a render formats
 *   the changed portals again and joins the kept bytes, family by family. prom-client formats
 *   every label of every series on every scrape (~200 ms at 1,000 portals, mostly garbage).
 *   Within a family the series come grouped by portal, not in prom-client's insertion order:
 *   neither format gives that order a meaning;
 * - correctness: prom-client 15 renames counters in place while it renders OpenMetrics
 *   (`x_total` → `x`) and never renames them back, so shared metric objects would serve
 *   `b24_offline_polls` instead of `b24_offline_polls_total` to later text-format scrapes.
 * ExpositionCache (exposition.ts) shares one render between scrapes of an unchanged registry.
 *
 * Version pin: this relies on prom-client internals, not its API: each metric's `hashMap` of
 * series (`{ value, labels }` under prom-client's key) and its instance mutators (tracker.ts).
 * prom-client's main branch has already changed those internals, so package.json pins
 * prom-client to `~15.1.3`, the minor version this was written and tested against. Before
 * allowing a newer one, check test/metrics (and the README's metrics reference) against it;
 * rendering from the project's own values would remove the dependency on internals.
 */
import { Registry } from 'prom-client';
import type { MonitorMetrics } from './definitions.js';
import { trackerOf, type Bucket, type MutationTracker } from './tracker.js';

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
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Label values (portal names, event names) almost never need escaping: test before replacing. */
const NEEDS_ESCAPE = /[\\\n"]/;

function escapeLabelValue(value: string | number): string {
  if (typeof value !== 'string') return String(value);
  return NEEDS_ESCAPE.test(value) ? escapeHelp(value).replace(/"/g, '\\"') : value;
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

/** How a family is named and written in one format. */
interface Header {
  readonly sampleName: string;
  readonly text: string;
  /** `text` as written after another family. */
  readonly separated: string;
}

/**
 * Changed portals are formatted ahead of a scrape only in a format scraped this recently: a
 * person's one `curl` of the text format should not double the work for good.
 */
const AHEAD_MS = 120_000;
/** Longest stretch of formatting a render does without handing the event loop back, ms. */
const SLICE_MS = 8;
/** Buckets formatted between two looks at the clock. */
const CHECK_EVERY = 64;

/** The time a render has held the event loop since it last handed it back. */
class Slice {
  #since = performance.now();

  over(): boolean {
    return performance.now() - this.#since >= SLICE_MS;
  }

  /** Lets timers and I/O run (setImmediate runs after them, not before like a microtask). */
  async yield(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#since = performance.now();
  }
}
const EOF = '# EOF\n';

export class MetricsRenderer {
  readonly #metrics: MonitorMetrics;
  /** Watches the registry's mutators; ExpositionCache reads its generation. */
  readonly tracker: MutationTracker;
  readonly #headers = [new WeakMap<object, Header>(), new WeakMap<object, Header>()] as const;
  /** Portal buckets formatted since the renderer was made; for tests and the bench. */
  bucketsRendered = 0;

  /** Buckets changed since the last flush, with their metric. */
  readonly #pending = new Map<Bucket, object>();
  #flushScheduled = false;
  /** When each format (0: text, 1: OpenMetrics) was last rendered. */
  readonly #askedAt = [-Infinity, -Infinity];
  readonly #now: () => number;

  constructor(metrics: MonitorMetrics, now: () => number = Date.now) {
    this.#metrics = metrics;
    this.#now = now;
    this.tracker = trackerOf(metrics.registry);
    this.tracker.listen((metric, bucket) => this.#changed(metric, bucket));
  }

  #ahead(format: 0 | 1): boolean {
    return this.#now() - (this.#askedAt[format] as number) < AHEAD_MS;
  }

  /**
   * Formats changed buckets soon after the change (once the poll's synchronous updates are
   * in), so that the work is spread over the polls and a scrape mostly joins kept text.
   */
  #changed(metric: object, bucket: Bucket): void {
    this.#pending.set(bucket, metric);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush()).unref();
  }

  #flush(): void {
    this.#flushScheduled = false;
    const formats = ([0, 1] as const).filter((format) => this.#ahead(format));
    for (const [bucket, metric] of formats.length === 0 ? [] : this.#pending) {
      const series = (metric as unknown as { hashMap?: Record<string, Sample> }).hashMap ?? {};
      for (const format of formats) {
        if (bucket.renderedVersion[format] === bucket.version) continue;
        this.#format(bucket, format, series, this.#header(metric, format).sampleName);
      }
    }
    this.#pending.clear();
  }

  contentType(openMetrics: boolean): string {
    return openMetrics ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE;
  }

  /** The whole exposition, as the registry holds it now. */
  async render(openMetrics: boolean): Promise<string> {
    return (await this.body(openMetrics)).toString('utf8');
  }

  /**
   * The whole exposition as bytes. Each metric's series are kept formatted per portal; only
   * the portals whose series changed since the last render are formatted again, the rest is
   * joined as it was (a family's HELP, TYPE and samples stay contiguous).
   *
   * A render that formats much (the first one: ~150,000 series of a shard, a second or more;
   * one after a reset) hands the event loop back every `SLICE_MS` of formatting, so that a
   * scrape or a poll's answer arriving meanwhile need not wait for all of it. Each portal's
   * lines are formatted at once, so the body may show portals polled during the render, but
   * never half a portal's poll. Joining kept text (every later render: ~14 MB, tens of ms)
   * does not yield: under load each turn of the loop takes long, and a render stretched over
   * many turns would outlive the staleness bound of ExpositionCache, whose scrapes then wait.
   */
  async body(openMetrics: boolean): Promise<Buffer> {
    const format = openMetrics ? 1 : 0;
    this.#askedAt[format] = this.#now();
    const slice = new Slice();
    const pieces: string[] = [];
    let bytes = 0;
    let first = true;
    for (const metric of this.#metrics.registry.getMetricsAsArray()) {
      const collect = (metric as unknown as { collect?: unknown }).collect;
      // a collect function may set anything: run it (through get()) and take every series anew
      if (typeof collect === 'function') {
        await (metric as unknown as { get(): Promise<unknown> }).get();
        this.tracker.family(metric).stale = true;
      }
      const header = this.#header(metric, format);
      const headerText = first ? header.text : header.separated;
      pieces.push(headerText);
      bytes += Buffer.byteLength(headerText);
      first = false;
      const series = (metric as unknown as { hashMap?: Record<string, Sample> }).hashMap ?? {};
      const family = this.tracker.family(metric);
      // a copy: the family may be rebuilt (a reset) while the render yields
      let formatted = 0;
      for (const [portal, bucket] of [...family.buckets]) {
        if (bucket.rendered[format] === null || bucket.renderedVersion[format] !== bucket.version) {
          if (++formatted % CHECK_EVERY === 0 && slice.over()) await slice.yield();
          this.#format(bucket, format, series, header.sampleName);
        }
        if (bucket.keys.size === 0) {
          if (family.buckets.get(portal) === bucket) family.buckets.delete(portal);
          continue;
        }
        pieces.push(bucket.rendered[format] as string);
        bytes += bucket.renderedBytes[format];
      }
    }
    if (openMetrics) {
      pieces.push(EOF);
      bytes += EOF.length;
    }
    // one allocation of the exact size, the kept text written into it
    const body = Buffer.allocUnsafe(bytes);
    let offset = 0;
    for (const piece of pieces) offset += body.write(piece, offset, 'utf8');
    return body;
  }

  #format(bucket: Bucket, format: 0 | 1, series: Record<string, Sample>, sampleName: string): void {
    this.bucketsRendered++;
    let text = '';
    for (const key of bucket.keys) {
      const sample = series[key];
      if (sample === undefined) bucket.keys.delete(key);
      else text += prefixOf(sampleName, sample.labels) + formatValue(sample.value) + '\n';
    }
    bucket.rendered[format] = text;
    bucket.renderedBytes[format] = Buffer.byteLength(text);
    bucket.renderedVersion[format] = bucket.version;
  }

  #header(metric: object, format: 0 | 1): Header {
    let header = this.#headers[format].get(metric);
    if (header === undefined) {
      const { name, help, type } = metric as unknown as Family;
      const counter = type === 'counter';
      const open = format === 1;
      const familyName = open && counter ? name.replace(/_total$/, '') : name;
      const text = `# HELP ${familyName} ${escapeHelp(help)}\n# TYPE ${familyName} ${type}\n`;
      header = {
        sampleName: open && counter ? `${familyName}_total` : name,
        text,
        // the text format separates families with an empty line
        separated: open ? text : `\n${text}`,
      };
      this.#headers[format].set(metric, header);
    }
    return header;
  }
}

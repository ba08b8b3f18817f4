/**
 * Which series of the registry changed, per metric and per portal, so that a scrape re-renders
 * only the portals a poll touched (render.ts) and knows when nothing changed (exposition.ts).
 *
 * prom-client has no change event, so every metric of the registry gets its mutators (`set`,
 * `inc`, `dec`, `remove`, `reset`) wrapped; `labels()` children, `setToCurrentTime` and
 * `startTimer` call them too. A mutation bumps the registry's generation and the version of
 * the metric's bucket for the series' `portal` label (series without one share the bucket
 * `''`). A bucket holds the keys of its series in prom-client's `hashMap` (the same key
 * prom-client computes: sorted label names, `name:value,`), so a render reads just those.
 *
 * Version pin: relies on prom-client 15.1 internals (`hashMap`, its keys, instance mutators);
 * see render.ts.
 */
import type { Registry } from 'prom-client';

const MUTATORS = ['set', 'inc', 'dec', 'remove', 'reset'] as const;

type Labels = Readonly<Record<string, string | number | undefined>>;

/** The series of one metric that carry one value of the `portal` label. */
export interface Bucket {
  /** prom-client's keys of the series; a key whose series is gone is dropped at render. */
  readonly keys: Set<string>;
  /** Bumped by every mutation of a series of the bucket. */
  version: number;
  /**
   * What render.ts made of it, per format (0: text, 1: OpenMetrics): the lines, their length
   * in UTF-8 bytes and the version they show. Strings, not Buffers: small Buffers share 8 KB
   * pool slabs, and a few long-lived ones (a counter that rarely moves) would pin many slabs.
   */
  readonly rendered: [string | null, string | null];
  readonly renderedBytes: [number, number];
  readonly renderedVersion: [number, number];
}

interface Family {
  /** Buckets by portal, in the order portals first got a series of this metric. */
  readonly buckets: Map<string, Bucket>;
  /** Set by `reset` and at first sight: the buckets must be rebuilt from `hashMap`. */
  stale: boolean;
}

interface Watched {
  readonly labelNames?: readonly string[];
  readonly hashMap?: Record<string, { labels: Labels }>;
}

/** prom-client's `hashObject`: label names sorted, `name:value,` for each defined value. */
function seriesKey(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = '';
  for (const name of names) {
    const value = labels[name];
    if (value !== undefined) key += `${name}:${value},`;
  }
  return key;
}

function portalOf(labels: Labels): string {
  const portal = labels['portal'];
  return portal === undefined ? '' : String(portal);
}

/** The labels a mutator was called with (an object, positional values for `remove`, or none). */
function labelsOf(metric: Watched, method: string, args: readonly unknown[]): Labels {
  const first = args[0];
  if (typeof first === 'object' && first !== null) return first as Labels;
  if (method !== 'remove' || args.length === 0) return {};
  const names = metric.labelNames ?? [];
  return Object.fromEntries(names.map((name, i) => [name, args[i] as string | number]));
}

export class MutationTracker {
  readonly #registry: Registry;
  readonly #families = new WeakMap<object, Family>();
  /** Bumped by every mutation of any watched metric. */
  generation = 0;
  readonly #listeners: ((metric: object, bucket: Bucket) => void)[] = [];

  constructor(registry: Registry) {
    this.#registry = registry;
    this.sync();
  }

  /** Watches metrics registered since the last call; returns how many are registered. */
  sync(): number {
    const metrics = this.#registry.getMetricsAsArray();
    for (const metric of metrics) {
      if (this.#families.has(metric)) continue;
      this.#families.set(metric, { buckets: new Map(), stale: true });
      const target = metric as unknown as Record<string, unknown>;
      for (const name of MUTATORS) {
        const original = target[name];
        if (typeof original !== 'function') continue;
        const record = (args: unknown[]) => this.#record(metric, name, args);
        target[name] = function (this: unknown, ...args: unknown[]): unknown {
          const result = (original as (...a: unknown[]) => unknown).apply(this, args);
          record(args);
          return result;
        };
      }
    }
    return metrics.length;
  }

  /** Told of every mutation of a series of a bucket (not of resets: those rebuild the family). */
  listen(listener: (metric: object, bucket: Bucket) => void): void {
    this.#listeners.push(listener);
  }

  /** The buckets of a watched metric, rebuilt from prom-client's series when stale. */
  family(metric: object): Family {
    let family = this.#families.get(metric);
    if (family === undefined) {
      this.sync();
      family = this.#families.get(metric) as Family;
    }
    if (family.stale) {
      family.buckets.clear();
      const series = (metric as Watched).hashMap ?? {};
      for (const key in series) {
        this.#bucket(family, portalOf((series[key] as { labels: Labels }).labels)).keys.add(key);
      }
      family.stale = false;
    }
    return family;
  }

  #bucket(family: Family, portal: string): Bucket {
    let bucket = family.buckets.get(portal);
    if (bucket === undefined) {
      bucket = {
        keys: new Set(),
        version: 0,
        rendered: [null, null],
        renderedBytes: [0, 0],
        renderedVersion: [-1, -1],
      };
      family.buckets.set(portal, bucket);
    }
    return bucket;
  }

  #record(metric: object, method: (typeof MUTATORS)[number], args: unknown[]): void {
    this.generation++;
    const family = this.#families.get(metric) as Family;
    if (family.stale) return; // rebuilt from hashMap at the next render anyway
    if (method === 'reset') {
      family.stale = true;
      return;
    }
    const labels = labelsOf(metric as Watched, method, args);
    const bucket = this.#bucket(family, portalOf(labels));
    bucket.version++;
    if (method !== 'remove') bucket.keys.add(seriesKey(labels));
    for (const listener of this.#listeners) listener(metric, bucket);
  }
}

/** One tracker per registry, however many renderers (each would wrap the mutators again). */
const trackers = new WeakMap<Registry, MutationTracker>();

export function trackerOf(registry: Registry): MutationTracker {
  let tracker = trackers.get(registry);
  if (tracker === undefined) trackers.set(registry, (tracker = new MutationTracker(registry)));
  return tracker;
}

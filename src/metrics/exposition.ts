/**
 * The `/metrics` bodies, rendered once per change of the registry and kept (as bytes, and
 * gzip-compressed when a scraper asks for it) until the next change.
 *
 * Why: a shard of 2,500 portals holds ~140,000 series (12 MB); even joined from kept pieces
 * (render.ts) and compressed at level 1, that is tens of milliseconds, and Prometheus HA
 * pairs, federation and people with curl scrape the same unchanged values again and again.
 *
 * When the cache is fresh: the renderer's MutationTracker (tracker.ts) wraps every metric's
 * mutators and bumps a generation number on each change. A body is served
 * only while the generation and the number of registered metrics are what they were when its
 * render started, so a scrape that follows a poll sees that poll's values; a render that a
 * change overtook is not reused. `maxAgeMs` bounds what could slip past the wrappers (a metric
 * with a `collect` function). Bodies only ever get replaced by later renders, so counters
 * never go backwards from one scrape to the next.
 *
 * Memory: at most one entry per format (text, OpenMetrics), each one plain and at most one
 * gzip body; a replaced entry lives on only in the answers still being written.
 */
import { promisify } from 'node:util';
import { constants as zlib, gzip as gzipCallback } from 'node:zlib';
import type { MetricsRenderer } from './render.js';

const gzipAsync = promisify(gzipCallback);

interface Entry {
  readonly generation: number;
  readonly metricCount: number;
  readonly startedAt: number;
  readonly plain: Promise<Buffer>;
  gzip: Promise<Buffer> | null;
}

export interface ExpositionOptions {
  /** Longest a body is served without a re-render, changes or not. @default 1000 */
  readonly maxAgeMs?: number;
  readonly now?: () => number;
}

export class ExpositionCache {
  readonly #renderer: MetricsRenderer;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<boolean, Entry>();
  /** Renders started (each one formats every series); for tests and the bench. */
  renders = 0;

  constructor(renderer: MetricsRenderer, options: ExpositionOptions = {}) {
    this.#renderer = renderer;
    this.#maxAgeMs = options.maxAgeMs ?? 1_000;
    this.#now = options.now ?? Date.now;
  }

  /** Bodies held now (plain and gzip, over both formats): at most 4. */
  heldBodies(): number {
    let held = 0;
    for (const entry of this.#entries.values()) held += entry.gzip === null ? 1 : 2;
    return held;
  }

  /** The exposition in the format asked, gzip-compressed when `gzip`. */
  body(openMetrics: boolean, gzip: boolean): Promise<Buffer> {
    const entry = this.#current(openMetrics);
    if (!gzip) return entry.plain;
    // Level 1: 11 MB shrink ~10 times at a fraction of level 6's time; zlib's thread pool
    // does the work, not the event loop.
    entry.gzip ??= entry.plain.then((plain) => gzipAsync(plain, { level: zlib.Z_BEST_SPEED }));
    return entry.gzip;
  }

  #current(openMetrics: boolean): Entry {
    // metrics registered since (a shard's gauges, a token store's) get watched too
    const metricCount = this.#renderer.tracker.sync();
    const generation = this.#renderer.tracker.generation;
    const now = this.#now();
    const cached = this.#entries.get(openMetrics);
    if (
      cached !== undefined &&
      cached.generation === generation &&
      cached.metricCount === metricCount &&
      now - cached.startedAt < this.#maxAgeMs
    )
      return cached;
    this.renders++;
    const entry: Entry = {
      generation,
      metricCount,
      startedAt: now,
      plain: this.#renderer.body(openMetrics),
      gzip: null,
    };
    // A failed render is not kept: the next scrape tries again.
    entry.plain.catch(() => {
      if (this.#entries.get(openMetrics) === entry) this.#entries.delete(openMetrics);
    });
    this.#entries.set(openMetrics, entry);
    return entry;
  }
}

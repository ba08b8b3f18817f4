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
 * Bounded staleness, for a large exposition only (over `staleAboveBytes`): with 2,500 portals
 * polling all the time the registry changes between any two scrapes, so a fresh body meant
 * a render (14 MB joined and gzipped) inside every scrape, hundreds of ms on a busy machine.
 * Such a scrape answers with the newest finished body if its render started at most
 * `maxStaleMs` ago, and the next render runs in the background just before the next scrape
 * is expected, from each scraping client's own period (a Prometheus HA pair is two clients
 * scraping some seconds apart); a small exposition (tests, a few hundred portals) stays
 * exactly fresh.
 *
 * The metrics worker (src/http/metricsWorker.ts) answers scrapes of a large exposition off
 * this thread: each large gzip body goes to it once compressed (`onLargeGzip`), it applies the
 * same `maxStaleMs` bound, and each scrape it answered comes back through `scraped()`, from
 * which the renders ahead are planned as from this cache's own scrapes.
 *
 * Memory: per format (text, OpenMetrics) the newest finished entry and the one being
 * rendered, each one plain and at most one gzip body; a replaced entry lives on only in the
 * answers still being written.
 */
import { promisify } from 'node:util';
import { constants as zlib, gzip as gzipCallback } from 'node:zlib';
import type { MetricsRenderer } from './render.js';

const gzipAsync = promisify(gzipCallback);

interface Entry {
  readonly openMetrics: boolean;
  readonly generation: number;
  readonly metricCount: number;
  readonly startedAt: number;
  readonly plain: Promise<Buffer>;
  gzip: Promise<Buffer> | null;
  /** The plain body's length once rendered; -1 while the render is under way. */
  bytes: number;
}

/**
 * One client that scrapes a format (an address and User-Agent, see `body()`): the renders
 * ahead are planned from each one's own period, so that a Prometheus HA pair (two servers at
 * the same interval, some seconds apart) or a person with curl does not pass for one scraper
 * with a short gap.
 */
interface Scraper {
  /** When it scraped last. */
  last: number;
  /** Between its last two scrapes; Infinity while not known. */
  gap: number;
  /** When the render ahead of its next scrape is planned; null when none is. */
  due: number | null;
  /** Its due came once already since its last scrape (see `#fire`). */
  retried: boolean;
  /** Renders every `maxStaleMs / 2` until its next scrape, up to this time (or -Infinity). */
  warmUntil: number;
}

/** One format's bodies and scrapes. */
interface State {
  /** The render started last (it may still be under way). */
  newest: Entry | null;
  /** The newest finished render. */
  done: Entry | null;
  gzipAskedAt: number;
  /** At most `MAX_SCRAPERS`, none unseen for over `LONGEST_GAP_MS`. */
  scrapers: Map<string, Scraper>;
  /** `renderAhead()`'s renders every `maxStaleMs / 2`, up to this time or the first scrape. */
  aheadUntil: number;
  /** The next of those every-`maxStaleMs / 2` renders (`renderAhead`, `warmUntil`). */
  tickAt: number;
  refresh: NodeJS.Timeout | null;
}

export interface ExpositionOptions {
  /** Longest a body is served without a re-render, changes or not. @default 1000 */
  readonly maxAgeMs?: number;
  /**
   * A large exposition (over `staleAboveBytes`) changed since its last render is still served
   * while that render started at most this long ago; a fresher one renders in the background.
   * @default 2000
   */
  readonly maxStaleMs?: number;
  /** @default 1_000_000 (about 170 portals' series) */
  readonly staleAboveBytes?: number;
  readonly now?: () => number;
  /**
   * Called with each gzip body of a large exposition once compressed: the metrics worker
   * answers scrapes from these (server.ts), and tells `scraped()` when it did.
   */
  readonly onLargeGzip?: (body: LargeGzipBody) => void;
  /**
   * Called when a gzip body starts to be made (its render may still be under way), with
   * what settles once it is made (after `onLargeGzip`) or failed: a scrape the worker cannot
   * answer from its body may wait for this one, as a scrape here waits for a render under way.
   */
  readonly onGzipStart?: (openMetrics: boolean, startedAt: number, made: Promise<unknown>) => void;
}

/** A large exposition's gzip body, with what says how old it is. */
export interface LargeGzipBody {
  readonly openMetrics: boolean;
  /** When its render started (Date.now()). */
  readonly startedAt: number;
  /** The plain body's length. */
  readonly plainBytes: number;
  readonly gzip: Buffer;
}

/** A gzip body is made ahead only for a format scraped with gzip this recently. */
const GZIP_AHEAD_MS = 120_000;
/** A gap between scrapes longer than this says nothing about the next one. */
const LONGEST_GAP_MS = 600_000;
/** Background renders while the gap is not known: Prometheus's default interval is 1 min. */
const WARM_UP_MS = 60_000;
/**
 * Background renders before the first scrape: Prometheus scrapes a new target within one
 * interval (1 min by default) of finding it, and finds it some seconds after it starts.
 */
const FIRST_SCRAPE_MS = 120_000;
/**
 * Scrapers tracked per format: an HA pair, federation, a person or two. A new one beyond
 * this replaces one seen only once (a curl), else the one seen longest ago, so a flood of
 * clients cannot grow the map and seldom displaces a periodic scraper.
 */
const MAX_SCRAPERS = 8;
/** A scraper's name is cut to this: a User-Agent can be as long as the headers allow. */
const SCRAPER_NAME_CHARS = 200;

export class ExpositionCache {
  readonly renderer: MetricsRenderer;
  readonly #maxAgeMs: number;
  readonly #maxStaleMs: number;
  readonly #staleAboveBytes: number;
  readonly #now: () => number;
  readonly #onLargeGzip: ((body: LargeGzipBody) => void) | undefined;
  readonly #onGzipStart: ExpositionOptions['onGzipStart'];
  readonly #states = new Map<boolean, State>();
  /** Renders started (each one formats every series); for tests and the bench. */
  renders = 0;

  constructor(renderer: MetricsRenderer, options: ExpositionOptions = {}) {
    this.renderer = renderer;
    this.#maxAgeMs = options.maxAgeMs ?? 1_000;
    this.#maxStaleMs = options.maxStaleMs ?? 2_000;
    this.#staleAboveBytes = options.staleAboveBytes ?? 1_000_000;
    this.#now = options.now ?? Date.now;
    this.#onLargeGzip = options.onLargeGzip;
    this.#onGzipStart = options.onGzipStart;
  }

  /** Over this many plain bytes an exposition is large: served up to `maxStaleMs` old. */
  get staleAboveBytes(): number {
    return this.#staleAboveBytes;
  }

  get maxStaleMs(): number {
    return this.#maxStaleMs;
  }

  /**
   * Records a gzip scrape by `scraper` answered elsewhere at `at` (the metrics worker, from a
   * body that `onLargeGzip` gave it), as `body()` records its own: the renders ahead are
   * planned from these times. A scrape reported after a later one of the same scraper was
   * recorded changes nothing.
   */
  scraped(openMetrics: boolean, at: number, scraper = ''): void {
    const state = this.#state(openMetrics);
    const seen = state.scrapers.get(scraper.slice(0, SCRAPER_NAME_CHARS));
    if (seen !== undefined && at <= seen.last) return;
    this.#record(state, scraper, at, true);
    this.#arm(state, openMetrics);
  }

  /** Bodies held now (plain and gzip, over both formats, rendering or kept). */
  heldBodies(): number {
    let held = 0;
    for (const { newest, done } of this.#states.values())
      for (const entry of new Set([newest, done]))
        if (entry !== null) held += entry.gzip === null ? 1 : 2;
    return held;
  }

  /** Scrapers whose periods are kept now, over both formats (at most `MAX_SCRAPERS` each). */
  trackedScrapers(): number {
    let tracked = 0;
    for (const { scrapers } of this.#states.values()) tracked += scrapers.size;
    return tracked;
  }

  /** Cancels the planned background renders (the cache stays usable). */
  close(): void {
    for (const state of this.#states.values()) {
      if (state.refresh !== null) clearTimeout(state.refresh);
      state.refresh = null;
    }
  }

  /**
   * The exposition in the format asked, gzip-compressed when `gzip`, for `scraper`: what
   * tells one scraping client from another (server.ts: its address and User-Agent), kept
   * only to plan renders, never logged or exported.
   */
  body(openMetrics: boolean, gzip: boolean, scraper = ''): Promise<Buffer> {
    const state = this.#state(openMetrics);
    const now = this.#now();
    this.#record(state, scraper, now, gzip);
    const entry = this.#pick(state, openMetrics, now);
    const plan = (bytes: number) => {
      if (bytes > this.#staleAboveBytes) this.#arm(state, openMetrics);
    };
    if (entry.bytes >= 0) plan(entry.bytes);
    else
      entry.plain.then(
        (plain) => plan(plain.length),
        () => undefined,
      );
    return gzip ? this.#gzip(entry) : entry.plain;
  }

  #state(openMetrics: boolean): State {
    let state = this.#states.get(openMetrics);
    if (state === undefined) {
      state = {
        newest: null,
        done: null,
        gzipAskedAt: -Infinity,
        scrapers: new Map(),
        aheadUntil: -Infinity,
        tickAt: Infinity,
        refresh: null,
      };
      this.#states.set(openMetrics, state);
    }
    return state;
  }

  #gzip(entry: Entry): Promise<Buffer> {
    // Level 1: 11 MB shrink ~10 times at a fraction of level 6's time; zlib's thread pool
    // does the work, not the event loop.
    if (entry.gzip !== null) return entry.gzip;
    entry.gzip = entry.plain.then(async (plain) => {
      const gzip = await gzipAsync(plain, { level: zlib.Z_BEST_SPEED });
      if (plain.length > this.#staleAboveBytes)
        this.#onLargeGzip?.({
          openMetrics: entry.openMetrics,
          startedAt: entry.startedAt,
          plainBytes: plain.length,
          gzip,
        });
      return gzip;
    });
    this.#onGzipStart?.(entry.openMetrics, entry.startedAt, entry.gzip);
    return entry.gzip;
  }

  /**
   * The body a scrape gets: the newest render when the registry has not changed since it
   * started; for a large exposition, else the newest finished body if its render started at
   * most `maxStaleMs` ago (or the render under way, if that one did); else a render of now.
   */
  #pick(state: State, openMetrics: boolean, now: number): Entry {
    // metrics registered since (a shard's gauges, a token store's) get watched too
    const metricCount = this.renderer.tracker.sync();
    const generation = this.renderer.tracker.generation;
    const { newest, done } = state;
    if (
      newest !== null &&
      newest.generation === generation &&
      newest.metricCount === metricCount &&
      now - newest.startedAt < this.#maxAgeMs
    )
      return newest;
    if (done !== null && done.bytes > this.#staleAboveBytes) {
      if (now - done.startedAt <= this.#maxStaleMs) return done;
      if (newest !== null && newest.bytes < 0 && now - newest.startedAt <= this.#maxStaleMs)
        return newest;
    }
    return this.#start(state, openMetrics, generation, metricCount, now);
  }

  #start(
    state: State,
    openMetrics: boolean,
    generation: number,
    metricCount: number,
    now: number,
  ): Entry {
    this.renders++;
    const entry: Entry = {
      openMetrics,
      generation,
      metricCount,
      startedAt: now,
      plain: this.renderer.body(openMetrics),
      gzip: null,
      bytes: -1,
    };
    entry.plain.then(
      (plain) => {
        entry.bytes = plain.length;
        // bodies only ever get replaced by later renders: counters never go backwards
        if (state.done === null || state.done.startedAt <= entry.startedAt) state.done = entry;
      },
      // A failed render is not kept: the next scrape tries again.
      () => {
        if (state.newest === entry) state.newest = null;
      },
    );
    state.newest = entry;
    return entry;
  }

  /**
   * Renders `format` in the background from now on, before any scrape, as after a scrape
   * whose gap to the next is not known (every `maxStaleMs / 2`, for at most `FIRST_SCRAPE_MS`
   * or until the first scrape): the first scrape of a large exposition then finds a body at most
   * `maxStaleMs` old instead of waiting for a first full render. Once a render shows the
   * exposition small (at most `staleAboveBytes`) it stops: each scrape renders such a body
   * itself. The server calls it for the format Prometheus asks for (OpenMetrics, gzip).
   */
  renderAhead(openMetrics: boolean, gzip: boolean): void {
    const state = this.#state(openMetrics);
    const now = this.#now();
    if (gzip) state.gzipAskedAt = now;
    state.aheadUntil = now + FIRST_SCRAPE_MS;
    state.tickAt = now + this.#maxStaleMs / 2;
    this.#arm(state, openMetrics);
  }

  /**
   * Records a scrape by `name` at `at`. Its next scrape is expected one of its own gaps (between
   * its last two scrapes) later: a render is planned for half the bound before then, so that
   * the scrape answers at once with a body at most `maxStaleMs` old, and a shard renders about
   * once per scrape of each scraper (a render that is recent enough serves several). While
   * its gap is not known (its first scrape, or one after a long pause) and no other scraper's
   * is, it renders every `maxStaleMs / 2` until its next scrape, for `WARM_UP_MS` at most; a
   * new client among scrapers with known periods (a curl next to Prometheus) plans nothing.
   */
  #record(state: State, name: string, at: number, gzip: boolean): void {
    const id = name.slice(0, SCRAPER_NAME_CHARS);
    const half = this.#maxStaleMs / 2;
    for (const [other, seen] of state.scrapers)
      if (other !== id && at - seen.last > LONGEST_GAP_MS) state.scrapers.delete(other);
    let scraper = state.scrapers.get(id);
    if (scraper === undefined) {
      if (state.scrapers.size >= MAX_SCRAPERS) state.scrapers.delete(replaceable(state.scrapers));
      scraper = { last: -Infinity, gap: Infinity, due: null, retried: false, warmUntil: -Infinity };
      state.scrapers.set(id, scraper);
    }
    const gap = at - scraper.last;
    const known = gap <= LONGEST_GAP_MS;
    // a periodic scraper still keeping to its period: its renders ahead are planned already
    const othersKnown = [...state.scrapers.values()].some(
      (other) => other !== scraper && other.gap !== Infinity && at - other.last <= 2 * other.gap,
    );
    scraper.last = at;
    scraper.gap = known ? gap : Infinity;
    scraper.due = known ? at + gap - half : null;
    scraper.retried = false;
    scraper.warmUntil = known || othersKnown ? -Infinity : at + WARM_UP_MS;
    if (!known && !othersKnown) state.tickAt = at + half;
    // renderAhead's renders wait for the first scrape only
    state.aheadUntil = -Infinity;
    if (gzip) state.gzipAskedAt = at;
  }

  /**
   * Sets the timer for the next background render: the earliest scraper's due, or the next
   * render every `maxStaleMs / 2` while one warms up (or `renderAhead` awaits a first
   * scrape). Nothing is planned once scrapes stop.
   */
  #arm(state: State, openMetrics: boolean): void {
    if (state.refresh !== null) clearTimeout(state.refresh);
    state.refresh = null;
    const now = this.#now();
    let warming = state.aheadUntil > now;
    for (const scraper of state.scrapers.values()) warming ||= scraper.warmUntil > now;
    let at = warming ? state.tickAt : Infinity;
    for (const { due } of state.scrapers.values()) if (due !== null && due < at) at = due;
    if (at === Infinity) return;
    state.refresh = setTimeout(() => this.#fire(state, openMetrics), Math.max(0, at - now));
    state.refresh.unref();
  }

  #fire(state: State, openMetrics: boolean): void {
    state.refresh = null;
    // a small exposition is rendered fresh by each scrape: nothing to render ahead
    if (state.done !== null && state.done.bytes <= this.#staleAboveBytes) return;
    const wait = this.#refresh(state, openMetrics);
    const now = this.#now();
    for (const scraper of state.scrapers.values())
      if (scraper.due !== null && scraper.due <= now) {
        // scrapes less than the bound apart: one more try once the newest body is half that old
        // (a body rendered for another scraper less than half the bound ago serves this one)
        const again = wait !== null && !scraper.retried && scraper.gap < this.#maxStaleMs;
        scraper.due = again ? now + wait : null;
        scraper.retried = true;
      }
    if (state.tickAt <= now) state.tickAt = now + this.#maxStaleMs / 2;
    this.#arm(state, openMetrics);
  }

  /**
   * Starts a background render unless the newest is fresh enough: under way, or started less
   * than half the bound ago. Answers how long until that one is half the bound old (when it
   * is), so that frequent scrapes get a render then rather than none until a scrape finds
   * every body too old and waits for its own.
   */
  #refresh(state: State, openMetrics: boolean): number | null {
    const now = this.#now();
    const newest = state.newest;
    const half = this.#maxStaleMs / 2;
    if (newest !== null && (newest.bytes < 0 || now - newest.startedAt < half)) {
      const wait = newest.startedAt + half - now;
      return wait > 0 ? wait : null;
    }
    const metricCount = this.renderer.tracker.sync();
    const entry = this.#start(
      state,
      openMetrics,
      this.renderer.tracker.generation,
      metricCount,
      now,
    );
    if (now - state.gzipAskedAt < GZIP_AHEAD_MS) void this.#gzip(entry).catch(() => undefined);
    entry.plain.catch(() => undefined);
    return null;
  }
}

/** The scraper a new one replaces: one seen only once, else the one seen longest ago. */
function replaceable(scrapers: Map<string, Scraper>): string {
  let pick: [string, Scraper] | undefined;
  for (const entry of scrapers) {
    const [, scraper] = entry;
    const once = scraper.gap === Infinity;
    if (
      pick === undefined ||
      (once && pick[1].gap !== Infinity) ||
      (once === (pick[1].gap === Infinity) && scraper.last < pick[1].last)
    )
      pick = entry;
  }
  return pick![0];
}

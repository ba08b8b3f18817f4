/**
 * The offline-event queue of one application (and one auth connector) of a portal, stored in
 * columns: typed arrays for ID, TIMESTAMP_X, name index, flags and reservation slot, grown by
 * doubling and compacted when more than half the rows are deleted. Rows are appended in ID
 * order, so ID conditions are binary searches; a Fenwick tree over live rows counts an ID range
 * and finds the k-th live row in O(log n). Counts of other filters are cached per queue version.
 *
 * Strings are kept out of the columns: MESSAGE_IDs are synthetic (a per-queue salt + the ID in
 * hex) unless an event brings its own, and EVENT_DATA is derived unless given, so a million
 * seeded rows cost about 25 bytes each.
 */
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { formatIso } from './dates.js';
import { Fenwick } from './fenwick.js';
import type { Filter, OrderKey } from './filter.js';
import { DEFAULT_GET_ORDER } from './filter.js';
import type { ColumnView, Plan } from './plan.js';
import {
  FLAG_DELETED,
  FLAG_ERROR,
  FLAG_RESERVED,
  UNRESERVED,
  compileOrder,
  compilePlan,
  errorClause,
} from './plan.js';
import type { Random } from './random.js';
import { randomAlnum, randomHex, seededRandom } from './random.js';

/**
 * Reserved rows whose TIMESTAMP_X is older than this are deleted by the portal's cleanup job
 * (inferred from the server code; the age counts from the row's last change, not from its
 * reservation, since reserving does not touch TIMESTAMP_X).
 */
export const PROCESS_ID_LIFETIME_SEC = 2_952_000;

/** The cleanup job runs once a day (an agent), at whole multiples of this since the epoch. */
const CLEANUP_INTERVAL_SEC = 86_400;

/** `EVENT_DATA` / `EVENT_ADDITIONAL`: an object, or `false`/`null`. */
export type EventPayload = { readonly [key: string]: unknown } | false | null;

export interface QueueEvent {
  /** Upper-cased on the way in. */
  readonly eventName: string;
  /** @default `{ FIELDS: { ID: <row ID> } }` */
  readonly data?: EventPayload;
  /** @default `{ user_id: '1' }` */
  readonly additional?: EventPayload;
  /** 32 characters. Repeating the MESSAGE_ID of an unreserved row merges into it. @default a new one */
  readonly messageId?: string;
  /** When the event happened. @default the clock's now */
  readonly timestampMs?: number;
}

export interface AddResult {
  readonly id: number;
  /** True when the event updated an existing unreserved row instead of adding one. */
  readonly merged: boolean;
  readonly messageId: string;
}

/** A row as `event.offline.list` renders it. */
export interface OfflineRowJson {
  ID: string;
  TIMESTAMP_X: string;
  EVENT_NAME: string;
  EVENT_DATA: EventPayload;
  EVENT_ADDITIONAL: EventPayload;
  MESSAGE_ID: string;
  PROCESS_ID: string;
  ERROR: '0' | '1';
}

/** A row as `event.offline.get` renders it. */
export type OfflineEventJson = Omit<OfflineRowJson, 'PROCESS_ID' | 'ERROR'>;

/** ID source; all connectors of a portal share one, so IDs are unique per portal. */
export interface IdSequence {
  next(): number;
}

export function idSequence(firstId = 1): IdSequence {
  let next = firstId;
  return { next: () => next++ };
}

export interface OfflineQueueOptions {
  /** @default systemClock */
  readonly clock?: Clock;
  /** For the MESSAGE_ID salt and PROCESS_IDs. @default seededRandom(1) */
  readonly random?: Random;
  /** The portal's UTC offset in minutes, used to render TIMESTAMP_X. @default 180 (+03:00) */
  readonly offsetMinutes?: number;
  /** @default idSequence(1) */
  readonly ids?: IdSequence;
  /** Rows allocated up front. @default 16 */
  readonly initialCapacity?: number;
  /** Age of TIMESTAMP_X past which the cleanup job deletes a reserved row. @default PROCESS_ID_LIFETIME_SEC */
  readonly processLifetimeSec?: number;
  /** How often the cleanup job runs. @default CLEANUP_INTERVAL_SEC */
  readonly cleanupIntervalSec?: number;
}

export interface ReserveOptions {
  /** Take rows with ERROR=1 instead of ERROR=0. @default false */
  readonly error?: boolean;
  readonly filter?: Filter;
  /** @default TIMESTAMP_X ASC (then ID) */
  readonly order?: readonly OrderKey[];
  /** Reserve under this PROCESS_ID (adding to rows it already holds). @default a new one */
  readonly processId?: string;
  /** Delete the returned rows at once. @default true */
  readonly clear?: boolean;
}

export interface ReserveResult {
  readonly processId: string;
  readonly events: OfflineEventJson[];
}

export interface RowSelection {
  /** Row IDs (numbers). */
  readonly ids?: readonly number[];
  /** Used when `ids` is absent. */
  readonly messageIds?: readonly string[];
}

/** One live row, as handed to `forEachLive`. */
export interface LiveRow {
  readonly id: number;
  readonly timestampMs: number;
  readonly eventName: string;
  readonly reserved: boolean;
  readonly error: boolean;
}

/** See `OfflineQueue.columns()`. */
export interface QueueColumns {
  readonly length: number;
  readonly ids: Float64Array;
  readonly ts: Float64Array;
  readonly names: Uint16Array;
  readonly flags: Uint8Array;
  readonly nameTexts: readonly string[];
}

/** Columns of rows to append in one go (see fill.ts). */
export interface BulkRows {
  readonly count: number;
  readonly eventNames: readonly string[];
  /** Index into `eventNames`, per row. */
  readonly nameIndex: Uint16Array;
  readonly timestampMs: Float64Array;
  /** 1 = ERROR, per row. */
  readonly error: Uint8Array;
  /** 1 = reserved, per row. */
  readonly reserved: Uint8Array;
  readonly rowsPerProcess: number;
  readonly reservedAtMs: number;
}

interface Process {
  readonly slot: number;
  readonly id: string;
  readonly atMs: number;
  rows: number[];
}

interface Payload {
  readonly data: EventPayload | undefined;
  readonly additional: EventPayload | undefined;
}

// Local copies: hot loops should read plain constants, not imported bindings (which module
// runners such as vitest's turn into property reads).
const BIT_DELETED = FLAG_DELETED;
const BIT_ERROR = FLAG_ERROR;
const BIT_RESERVED = FLAG_RESERVED;

const COUNT_CACHE_LIMIT = 512;
const COMPACT_MIN_DELETED = 1024;

function wholeSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

export class OfflineQueue {
  readonly offsetMinutes: number;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly sequence: IdSequence;
  private readonly lifetimeMs: number;
  private readonly cleanupIntervalMs: number;
  private readonly salt: string;

  private length = 0;
  private live = 0;
  private ids: Float64Array;
  private ts: Float64Array;
  private names: Uint16Array;
  private flags: Uint8Array;
  private procs: Int32Array;
  private fenwick: Fenwick;

  private readonly nameTexts: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  private explicitMessageIds = new Map<number, string>();
  /** Unreserved rows carrying an explicit MESSAGE_ID, ascending (usually one per id). */
  private unreservedByMessageId = new Map<string, number[]>();
  private payloads = new Map<number, Payload>();
  private readonly processes = new Map<number, Process>();
  private readonly slotByProcessId = new Map<string, number>();
  private nextSlot = 1;
  /** The last cleanup run, as a count of intervals since the epoch. */
  private lastCleanupRun: number;

  private changes = 0;
  private readonly countCache = new Map<string, number>();
  private countCacheVersion = -1;

  constructor(options: OfflineQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? seededRandom(1);
    this.offsetMinutes = options.offsetMinutes ?? 180;
    this.sequence = options.ids ?? idSequence();
    this.lifetimeMs = (options.processLifetimeSec ?? PROCESS_ID_LIFETIME_SEC) * 1000;
    this.cleanupIntervalMs = (options.cleanupIntervalSec ?? CLEANUP_INTERVAL_SEC) * 1000;
    this.lastCleanupRun = Math.floor(this.clock.now() / this.cleanupIntervalMs);
    this.salt = randomHex(this.random, 16);
    const capacity = Math.max(1, options.initialCapacity ?? 16);
    this.ids = new Float64Array(capacity);
    this.ts = new Float64Array(capacity);
    this.names = new Uint16Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.procs = new Int32Array(capacity);
    this.fenwick = new Fenwick(capacity);
  }

  /** Live rows. */
  get size(): number {
    return this.live;
  }

  /** Bumps on every change of the rows. */
  get version(): number {
    return this.changes;
  }

  /** Event names ever queued, upper case. */
  eventNames(): readonly string[] {
    return this.nameTexts;
  }

  // ---- adding -------------------------------------------------------------------------------

  /**
   * Adds an event. A MESSAGE_ID equal to that of an unreserved row updates that row's
   * TIMESTAMP_X, EVENT_DATA and EVENT_ADDITIONAL (its ID stays); otherwise a row is appended.
   * Should several unreserved rows share the MESSAGE_ID (a failed row back from `error` next to
   * one added while it was reserved), the one with the smallest ID takes the update.
   */
  add(event: QueueEvent): AddResult {
    const timestamp = wholeSeconds(event.timestampMs ?? this.clock.now());
    const payload: Payload | undefined =
      event.data === undefined && event.additional === undefined
        ? undefined
        : { data: event.data, additional: event.additional };
    if (event.messageId !== undefined) {
      const target = this.findUnreserved(event.messageId);
      if (target >= 0) {
        this.ts[target] = timestamp;
        if (payload === undefined) this.payloads.delete(target);
        else this.payloads.set(target, payload);
        this.changes++;
        return { id: this.ids[target]!, merged: true, messageId: event.messageId };
      }
    }
    this.ensureCapacity(this.length + 1);
    const row = this.length++;
    const id = this.sequence.next();
    this.ids[row] = id;
    this.ts[row] = timestamp;
    this.names[row] = this.internName(event.eventName);
    this.flags[row] = 0;
    this.procs[row] = 0;
    this.fenwick.add(row, 1);
    this.live++;
    if (payload !== undefined) this.payloads.set(row, payload);
    if (event.messageId !== undefined) {
      this.explicitMessageIds.set(row, event.messageId);
      this.trackUnreserved(event.messageId, row);
    }
    this.changes++;
    return { id, merged: false, messageId: this.messageIdOf(row) };
  }

  /** Appends many rows at once (seeding, benchmarks): no merging, O(rows). */
  appendBulk(bulk: BulkRows): { firstId: number; lastId: number } {
    if (bulk.count === 0) return { firstId: 0, lastId: 0 };
    const nameMap = Uint16Array.from(bulk.eventNames, (name) => this.internName(name));
    this.ensureCapacity(this.length + bulk.count);
    const { ids, ts, names, flags, procs } = this;
    let process: Process | null = null;
    let firstId = 0;
    let lastId = 0;
    for (let k = 0; k < bulk.count; k++) {
      const row = this.length + k;
      const id = this.sequence.next();
      if (k === 0) firstId = id;
      lastId = id;
      ids[row] = id;
      ts[row] = wholeSeconds(bulk.timestampMs[k]!);
      names[row] = nameMap[bulk.nameIndex[k]!]!;
      flags[row] = bulk.error[k] === 1 ? BIT_ERROR : 0;
      if (bulk.reserved[k] === 1) {
        if (process === null || process.rows.length >= bulk.rowsPerProcess) {
          process = this.newProcess(undefined, bulk.reservedAtMs);
        }
        process.rows.push(row);
        procs[row] = process.slot;
        flags[row]! |= BIT_RESERVED;
      } else {
        procs[row] = 0;
      }
    }
    this.length += bulk.count;
    this.live += bulk.count;
    this.rebuildFenwick(this.ids.length);
    this.changes++;
    return { firstId, lastId };
  }

  // ---- reading ------------------------------------------------------------------------------

  /** Rows matching the filter (what `total` reports). */
  count(filter: Filter): number {
    return this.countPlan(compilePlan(filter, this.view()));
  }

  /** Up to `limit` rows matching the filter in `order`, after skipping `offset` of them. */
  list(
    filter: Filter,
    order: readonly OrderKey[],
    offset: number,
    limit: number,
  ): OfflineRowJson[] {
    const view = this.view();
    return this.selectRows(compilePlan(filter, view), order, offset, limit, view).map((row) =>
      this.render(row),
    );
  }

  /** The row with this ID, or undefined. */
  get(id: number): OfflineRowJson | undefined {
    const row = this.rowOf(id);
    return row < 0 ? undefined : this.render(row);
  }

  /** Calls `visit` for every live row in ID order (ground truth, tests). */
  forEachLive(visit: (row: LiveRow) => void): void {
    const { ids, ts, names, flags } = this;
    for (let row = 0; row < this.length; row++) {
      const flag = flags[row]!;
      if ((flag & BIT_DELETED) !== 0) continue;
      visit({
        id: ids[row]!,
        timestampMs: ts[row]!,
        eventName: this.nameTexts[names[row]!]!,
        reserved: (flag & BIT_RESERVED) !== 0,
        error: (flag & BIT_ERROR) !== 0,
      });
    }
  }

  /**
   * The raw columns, read-only, valid until the next change: rows [0, length) in ID order,
   * `flags` bits FLAG_DELETED / FLAG_ERROR / FLAG_RESERVED, `names` indexing `nameTexts`,
   * `ts` in Unix ms. For fast whole-queue scans (ground truth, benchmarks).
   */
  columns(): QueueColumns {
    return {
      length: this.length,
      ids: this.ids,
      ts: this.ts,
      names: this.names,
      flags: this.flags,
      nameTexts: this.nameTexts,
    };
  }

  // ---- changing -----------------------------------------------------------------------------

  /**
   * What `event.offline.get` does: reserves up to `limit` unreserved rows (ERROR=0, or with
   * `error` only ERROR=1) under a PROCESS_ID and returns them; with `clear` (default) deletes
   * them at once and answers no PROCESS_ID.
   */
  reserve(limit: number, options: ReserveOptions = {}): ReserveResult {
    const order = options.order ?? DEFAULT_GET_ORDER;
    const { procs, flags } = this;
    const existingSlot =
      options.processId === undefined ? undefined : this.slotByProcessId.get(options.processId);
    let process = existingSlot === undefined ? undefined : this.processes.get(existingSlot);
    const take = Math.max(0, limit - (process?.rows.length ?? 0));
    const view = this.view();
    const plan = compilePlan(options.filter ?? { conditions: [], key: '' }, view, [
      UNRESERVED,
      errorClause(options.error === true),
    ]);
    const picked = this.selectRows(plan, order, 0, take, view);
    if (process === undefined) process = this.newProcess(options.processId, this.clock.now());
    for (const row of picked) {
      procs[row] = process.slot;
      flags[row]! |= BIT_RESERVED;
      process.rows.push(row);
      this.untrackUnreserved(row);
    }
    const compare = compileOrder(order, this.view());
    const rows = [...process.rows].sort(compare).slice(0, limit);
    const events = rows.map((row) => this.renderEvent(row));
    if (picked.length > 0) this.changes++;
    const processId = process.id;
    if (options.clear !== false) this.removeFromProcess(process, new Set(rows), true);
    if (process.rows.length === 0) this.dropProcess(process);
    return { processId, events };
  }

  /** `event.offline.clear`: deletes rows of a PROCESS_ID (all, or those selected). */
  clear(processId: string, selection: RowSelection = {}): number {
    const process = this.processById(processId);
    if (process === undefined) return 0;
    return this.removeFromProcess(process, this.selectInProcess(process, selection), true);
  }

  /** `event.offline.error`: ERROR=1 and PROCESS_ID emptied for rows of a PROCESS_ID. */
  markError(processId: string, selection: RowSelection = {}): number {
    const process = this.processById(processId);
    if (process === undefined) return 0;
    return this.removeFromProcess(process, this.selectInProcess(process, selection), false);
  }

  /**
   * Runs the daily cleanup job if a run fell due since the last one (at `nowMs` or before):
   * see `cleanup`. Returns the rows deleted.
   */
  expire(nowMs: number): number {
    const run = Math.floor(nowMs / this.cleanupIntervalMs);
    if (run <= this.lastCleanupRun) return 0;
    this.lastCleanupRun = run;
    return this.cleanup(run * this.cleanupIntervalMs);
  }

  /**
   * The cleanup job as of `atMs`: deletes reserved rows whose TIMESTAMP_X is older than the
   * lifetime, whenever they were reserved. Unreserved and error rows stay.
   */
  cleanup(atMs: number): number {
    const cutoff = atMs - this.lifetimeMs;
    let deleted = 0;
    for (const process of [...this.processes.values()]) {
      const old = process.rows.filter((row) => this.ts[row]! < cutoff);
      if (old.length > 0) deleted += this.removeFromProcess(process, new Set(old), true);
    }
    return deleted;
  }

  // ---- internals ----------------------------------------------------------------------------

  private view(): ColumnView {
    return {
      length: this.length,
      ids: this.ids,
      ts: this.ts,
      names: this.names,
      flags: this.flags,
      procs: this.procs,
      nameTexts: this.nameTexts,
      offsetMinutes: this.offsetMinutes,
      messageIdOf: (row) => this.messageIdOf(row),
      processIdOf: (row) => this.processIdOf(row),
    };
  }

  /** ID ranges count in O(log n); other filters scan once per queue version (cached by key). */
  private countPlan(plan: Plan): number {
    if (plan.empty) return 0;
    if (plan.predicate === null) return this.fenwick.prefix(plan.hi) - this.fenwick.prefix(plan.lo);
    if (plan.key === '') return plan.count();
    if (this.countCacheVersion !== this.changes) {
      this.countCache.clear();
      this.countCacheVersion = this.changes;
    }
    let count = this.countCache.get(plan.key);
    if (count === undefined) {
      count = plan.count();
      if (this.countCache.size >= COUNT_CACHE_LIMIT) this.countCache.clear();
      this.countCache.set(plan.key, count);
    }
    return count;
  }

  private selectRows(
    plan: Plan,
    order: readonly OrderKey[],
    offset: number,
    limit: number,
    view: ColumnView,
  ): number[] {
    if (plan.empty || limit <= 0) return [];
    const first = order[0];
    if (first === undefined || first.field === 'ID') {
      return this.selectInIdOrder(plan, first?.desc === true, offset, limit);
    }
    return this.selectSorted(plan, compileOrder(order, view), offset, limit);
  }

  /** Rows are stored in ID order: walk the range, or jump with the Fenwick tree. */
  private selectInIdOrder(plan: Plan, desc: boolean, offset: number, limit: number): number[] {
    const out: number[] = [];
    if (plan.predicate === null) {
      const before = this.fenwick.prefix(plan.lo);
      const inRange = this.fenwick.prefix(plan.hi) - before;
      for (let k = offset; k < inRange && out.length < limit; k++) {
        out.push(this.fenwick.select(desc ? before + inRange - k : before + k + 1));
      }
      return out;
    }
    const { flags } = this;
    const test = plan.predicate;
    let skip = offset;
    const step = desc ? -1 : 1;
    for (let row = desc ? plan.hi - 1 : plan.lo; row >= plan.lo && row < plan.hi; row += step) {
      if ((flags[row]! & BIT_DELETED) !== 0 || !test(row)) continue;
      if (skip > 0) skip--;
      else if (out.push(row) >= limit) break;
    }
    return out;
  }

  /** Other orders: collect the matches, then a bounded heap (or a full sort for deep pages). */
  private selectSorted(
    plan: Plan,
    compare: (a: number, b: number) => number,
    offset: number,
    limit: number,
  ): number[] {
    const { flags } = this;
    const test = plan.predicate;
    const matches: number[] = [];
    for (let row = plan.lo; row < plan.hi; row++) {
      if ((flags[row]! & BIT_DELETED) === 0 && (test === null || test(row))) matches.push(row);
    }
    const wanted = offset + limit;
    if (wanted * 8 >= matches.length) return matches.sort(compare).slice(offset, wanted);
    return smallest(matches, wanted, compare).slice(offset);
  }

  private render(row: number): OfflineRowJson {
    const id = this.ids[row]!;
    const payload = this.payloads.get(row);
    return {
      ID: String(id),
      TIMESTAMP_X: formatIso(this.ts[row]!, this.offsetMinutes),
      EVENT_NAME: this.nameTexts[this.names[row]!]!,
      EVENT_DATA: payload?.data !== undefined ? payload.data : { FIELDS: { ID: id } },
      EVENT_ADDITIONAL: payload?.additional !== undefined ? payload.additional : { user_id: '1' },
      MESSAGE_ID: this.messageIdOf(row),
      PROCESS_ID: this.processIdOf(row),
      ERROR: (this.flags[row]! & BIT_ERROR) !== 0 ? '1' : '0',
    };
  }

  private renderEvent(row: number): OfflineEventJson {
    const { ID, TIMESTAMP_X, EVENT_NAME, EVENT_DATA, EVENT_ADDITIONAL, MESSAGE_ID } =
      this.render(row);
    return { ID, TIMESTAMP_X, EVENT_NAME, EVENT_DATA, EVENT_ADDITIONAL, MESSAGE_ID };
  }

  private messageIdOf(row: number): string {
    return (
      this.explicitMessageIds.get(row) ?? this.salt + this.ids[row]!.toString(16).padStart(16, '0')
    );
  }

  private processIdOf(row: number): string {
    const slot = this.procs[row]!;
    return slot === 0 ? '' : (this.processes.get(slot)?.id ?? '');
  }

  private rowOf(id: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ids[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.length && this.ids[lo] === id && (this.flags[lo]! & BIT_DELETED) === 0
      ? lo
      : -1;
  }

  /** The unreserved row carrying this MESSAGE_ID, or -1. */
  private findUnreserved(messageId: string): number {
    const explicit = this.unreservedByMessageId.get(messageId)?.[0] ?? -1;
    if (messageId.length !== 32 || !messageId.startsWith(this.salt)) return explicit;
    const row = this.rowOf(Number.parseInt(messageId.slice(16), 16));
    const synthetic =
      row >= 0 && (this.flags[row]! & BIT_RESERVED) === 0 && !this.explicitMessageIds.has(row);
    return synthetic && (explicit < 0 || row < explicit) ? row : explicit;
  }

  private internName(name: string): number {
    const upper = name.toUpperCase();
    let index = this.nameIndex.get(upper);
    if (index === undefined) {
      if (this.nameTexts.length >= 0xffff) throw new RangeError('Too many event names');
      index = this.nameTexts.length;
      this.nameTexts.push(upper);
      this.nameIndex.set(upper, index);
    }
    return index;
  }

  private newProcess(processId: string | undefined, atMs: number): Process {
    let id = processId;
    while (id === undefined || this.slotByProcessId.has(id)) {
      if (processId !== undefined) throw new Error('PROCESS_ID already in use');
      id = randomAlnum(this.random, 32);
    }
    const process: Process = { slot: this.nextSlot++, id, atMs, rows: [] };
    this.processes.set(process.slot, process);
    this.slotByProcessId.set(id, process.slot);
    return process;
  }

  private processById(processId: string): Process | undefined {
    const slot = this.slotByProcessId.get(processId);
    return slot === undefined ? undefined : this.processes.get(slot);
  }

  private dropProcess(process: Process): void {
    this.processes.delete(process.slot);
    this.slotByProcessId.delete(process.id);
  }

  private selectInProcess(process: Process, selection: RowSelection): Set<number> {
    if (selection.ids !== undefined) {
      const wanted = new Set(selection.ids);
      return new Set(process.rows.filter((row) => wanted.has(this.ids[row]!)));
    }
    if (selection.messageIds !== undefined) {
      const wanted = new Set(selection.messageIds);
      return new Set(process.rows.filter((row) => wanted.has(this.messageIdOf(row))));
    }
    return new Set(process.rows);
  }

  /** Takes rows out of a process: deleting them, or (`event.offline.error`) marking them. */
  private removeFromProcess(process: Process, rows: ReadonlySet<number>, remove: boolean): number {
    if (rows.size === 0) return 0;
    for (const row of rows) {
      this.procs[row] = 0;
      this.flags[row]! &= ~BIT_RESERVED;
      if (remove) this.deleteRow(row);
      else this.markRowError(row);
    }
    process.rows = process.rows.filter((row) => !rows.has(row));
    if (process.rows.length === 0) this.dropProcess(process);
    this.changes++;
    if (remove) this.compactIfSparse();
    return rows.size;
  }

  private markRowError(row: number): void {
    this.flags[row]! |= BIT_ERROR;
    const messageId = this.explicitMessageIds.get(row);
    if (messageId !== undefined) this.trackUnreserved(messageId, row);
  }

  private trackUnreserved(messageId: string, row: number): void {
    const rows = this.unreservedByMessageId.get(messageId);
    if (rows === undefined) {
      this.unreservedByMessageId.set(messageId, [row]);
      return;
    }
    let at = rows.length;
    while (at > 0 && rows[at - 1]! > row) at--;
    rows.splice(at, 0, row);
  }

  private untrackUnreserved(row: number): void {
    const messageId = this.explicitMessageIds.get(row);
    if (messageId === undefined) return;
    const rows = this.unreservedByMessageId.get(messageId);
    const at = rows?.indexOf(row) ?? -1;
    if (rows === undefined || at < 0) return;
    rows.splice(at, 1);
    if (rows.length === 0) this.unreservedByMessageId.delete(messageId);
  }

  private deleteRow(row: number): void {
    this.flags[row]! |= BIT_DELETED;
    this.fenwick.add(row, -1);
    this.live--;
    this.payloads.delete(row);
    this.untrackUnreserved(row);
    this.explicitMessageIds.delete(row);
  }

  private ensureCapacity(needed: number): void {
    const capacity = this.ids.length;
    if (needed <= capacity) return;
    let next = capacity;
    while (next < needed) next *= 2;
    this.resize(next);
  }

  private resize(capacity: number): void {
    const grow = <T extends Float64Array | Uint16Array | Uint8Array | Int32Array>(
      old: T,
      make: (n: number) => T,
    ): T => {
      const next = make(capacity);
      next.set(old.subarray(0, this.length));
      return next;
    };
    this.ids = grow(this.ids, (n) => new Float64Array(n));
    this.ts = grow(this.ts, (n) => new Float64Array(n));
    this.names = grow(this.names, (n) => new Uint16Array(n));
    this.flags = grow(this.flags, (n) => new Uint8Array(n));
    this.procs = grow(this.procs, (n) => new Int32Array(n));
    this.rebuildFenwick(capacity);
  }

  private rebuildFenwick(capacity: number): void {
    const flags = this.flags;
    this.fenwick = Fenwick.build(capacity, this.length, (row) => (flags[row]! & BIT_DELETED) === 0);
  }

  /** Drops deleted rows once they are the majority, renumbering rows (IDs never change). */
  private compactIfSparse(): void {
    const deleted = this.length - this.live;
    if (deleted < COMPACT_MIN_DELETED || deleted * 2 <= this.length) return;
    const { ids, ts, names, flags, procs } = this;
    const moved = new Int32Array(this.length).fill(-1);
    let write = 0;
    for (let row = 0; row < this.length; row++) {
      if ((flags[row]! & BIT_DELETED) !== 0) continue;
      moved[row] = write;
      ids[write] = ids[row]!;
      ts[write] = ts[row]!;
      names[write] = names[row]!;
      flags[write] = flags[row]!;
      procs[write] = procs[row]!;
      write++;
    }
    this.length = write;
    const remapKeys = <V>(map: Map<number, V>): Map<number, V> =>
      new Map([...map].map(([row, value]) => [moved[row]!, value]));
    this.explicitMessageIds = remapKeys(this.explicitMessageIds);
    this.payloads = remapKeys(this.payloads);
    this.unreservedByMessageId = new Map(
      [...this.unreservedByMessageId].map(([messageId, rows]) => [
        messageId,
        rows.map((row) => moved[row]!),
      ]),
    );
    for (const process of this.processes.values()) {
      process.rows = process.rows.map((row) => moved[row]!);
    }
    const capacity = Math.max(16, this.length * 2);
    if (capacity * 2 < this.ids.length) this.resize(capacity);
    else this.rebuildFenwick(this.ids.length);
  }
}

/** The `k` smallest items in order, with a bounded max-heap: O(n log k). */
function smallest(
  items: readonly number[],
  k: number,
  compare: (a: number, b: number) => number,
): number[] {
  const heap: number[] = [];
  const siftUp = (start: number): void => {
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compare(heap[i]!, heap[parent]!) <= 0) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  };
  const siftDown = (): void => {
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let largest = i;
      if (left < heap.length && compare(heap[left]!, heap[largest]!) > 0) largest = left;
      if (right < heap.length && compare(heap[right]!, heap[largest]!) > 0) largest = right;
      if (largest === i) return;
      [heap[i], heap[largest]] = [heap[largest]!, heap[i]!];
      i = largest;
    }
  };
  for (const item of items) {
    if (heap.length < k) {
      heap.push(item);
      siftUp(heap.length - 1);
    } else if (compare(item, heap[0]!) < 0) {
      heap[0] = item;
      siftDown();
    }
  }
  return heap.sort(compare);
}

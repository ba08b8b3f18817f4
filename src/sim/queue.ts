/**
 * The offline-event queue of one application (and one auth connector) of a portal: what
 * `event.offline.*` do to it (add and merge by MESSAGE_ID, list and count, reserve, clear, mark
 * ERROR, the daily cleanup of old reservations) over its parts: the rows' columns
 * (rowStore.ts), their MESSAGE_IDs (messageIds.ts), the reservations (processes.ts) and the
 * reading of rows by a compiled filter (rowSelect.ts). Its shapes are in queueTypes.ts.
 *
 * Strings are kept out of the columns: MESSAGE_IDs are synthetic (a per-queue salt + the ID in
 * hex) unless an event brings its own, and EVENT_DATA is derived unless given, so a million
 * seeded rows cost about 25 bytes each.
 */
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { appendBulk } from './bulkAppend.js';
import { CleanupJob } from './cleanupJob.js';
import type { Filter, OrderKey } from './filter.js';
import { DEFAULT_GET_ORDER } from './filter.js';
import { MessageIds } from './messageIds.js';
import type { ColumnView } from './plan.js';
import {
  FLAG_ERROR,
  FLAG_RESERVED,
  UNRESERVED,
  compileOrder,
  compilePlan,
  errorClause,
} from './plan.js';
import { ProcessTable } from './processes.js';
import type { Process } from './processes.js';
import type {
  AddResult,
  BulkRows,
  IdSequence,
  LiveRow,
  OfflineQueueOptions,
  OfflineRowJson,
  QueueColumns,
  QueueEvent,
  ReserveOptions,
  ReserveResult,
  RowSelection,
} from './queueTypes.js';
import { idSequence } from './queueTypes.js';
import { randomHex, seededRandom } from './random.js';
import { eventJson, payloadOf, rowJson } from './rowJson.js';
import type { Payload } from './rowJson.js';
import { PlanCounter, selectRows } from './rowSelect.js';
import { RowStore, wholeSeconds } from './rowStore.js';

// Local copies: hot loops should read plain constants, not imported bindings (which module
// runners such as vitest's turn into property reads).
const BIT_ERROR = FLAG_ERROR;
const BIT_RESERVED = FLAG_RESERVED;

export class OfflineQueue {
  readonly offsetMinutes: number;
  private readonly clock: Clock;
  private readonly sequence: IdSequence;

  private readonly rows: RowStore;
  private readonly messageIds: MessageIds;
  private readonly processes: ProcessTable;
  private payloads = new Map<number, Payload>();
  private readonly cleanupJob: CleanupJob;

  private changes = 0;
  private readonly counter = new PlanCounter();

  constructor(options: OfflineQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    const random = options.random ?? seededRandom(1);
    this.offsetMinutes = options.offsetMinutes ?? 180;
    this.sequence = options.ids ?? idSequence();
    this.cleanupJob = new CleanupJob(
      this.clock.now(),
      options.processLifetimeSec,
      options.cleanupIntervalSec,
    );
    // The salt is drawn first, then each random PROCESS_ID: a seed gives the same ids.
    this.messageIds = new MessageIds(randomHex(random, 16));
    this.processes = new ProcessTable(random);
    this.rows = new RowStore(options.initialCapacity ?? 16);
  }

  /** Live rows. */
  get size(): number {
    return this.rows.live;
  }

  /** Bumps on every change of the rows. */
  get version(): number {
    return this.changes;
  }

  /** Event names ever queued, upper case. */
  eventNames(): readonly string[] {
    return this.rows.nameTexts;
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
    const payload = payloadOf(event);
    if (event.messageId !== undefined) {
      const target = this.messageIds.findUnreserved(event.messageId, this.rows);
      if (target >= 0) {
        this.rows.ts[target] = timestamp;
        if (payload === undefined) this.payloads.delete(target);
        else this.payloads.set(target, payload);
        this.changes++;
        return { id: this.rows.ids[target]!, merged: true, messageId: event.messageId };
      }
    }
    const row = this.rows.append(this.sequence, timestamp, event.eventName);
    const id = this.rows.ids[row]!;
    if (payload !== undefined) this.payloads.set(row, payload);
    if (event.messageId !== undefined) this.messageIds.setExplicit(row, event.messageId);
    this.changes++;
    return { id, merged: false, messageId: this.messageIdOf(row) };
  }

  /** Appends many rows at once (seeding, benchmarks): no merging, O(rows). */
  appendBulk(bulk: BulkRows): { firstId: number; lastId: number } {
    if (bulk.count === 0) return { firstId: 0, lastId: 0 };
    const ids = appendBulk(this.rows, this.processes, this.sequence, bulk);
    this.changes++;
    return ids;
  }

  // ---- reading ------------------------------------------------------------------------------

  /** Rows matching the filter (what `total` reports). */
  count(filter: Filter): number {
    return this.counter.count(compilePlan(filter, this.view()), this.rows, this.changes);
  }

  /** Up to `limit` rows matching the filter in `order`, after skipping `offset` of them. */
  list(
    filter: Filter,
    order: readonly OrderKey[],
    offset: number,
    limit: number,
  ): OfflineRowJson[] {
    const view = this.view();
    return selectRows(this.rows, compilePlan(filter, view), order, offset, limit, view).map((row) =>
      this.render(row),
    );
  }

  /** The row with this ID, or undefined. */
  get(id: number): OfflineRowJson | undefined {
    const row = this.rows.rowOf(id);
    return row < 0 ? undefined : this.render(row);
  }

  /** Calls `visit` for every live row in ID order (ground truth, tests). */
  forEachLive(visit: (row: LiveRow) => void): void {
    this.rows.forEachLive(visit);
  }

  /**
   * The raw columns, read-only, valid until the next change: rows [0, length) in ID order,
   * `flags` bits FLAG_DELETED / FLAG_ERROR / FLAG_RESERVED, `names` indexing `nameTexts`,
   * `ts` in Unix ms. For fast whole-queue scans (ground truth, benchmarks).
   */
  columns(): QueueColumns {
    return this.rows.columns();
  }

  // ---- changing -----------------------------------------------------------------------------

  /**
   * What `event.offline.get` does: reserves up to `limit` unreserved rows (ERROR=0, or with
   * `error` only ERROR=1) under a PROCESS_ID and returns them; with `clear` (default) deletes
   * them at once and answers no PROCESS_ID.
   */
  reserve(limit: number, options: ReserveOptions = {}): ReserveResult {
    const order = options.order ?? DEFAULT_GET_ORDER;
    let process =
      options.processId === undefined ? undefined : this.processes.byId(options.processId);
    const take = Math.max(0, limit - (process?.rows.length ?? 0));
    const picked = this.pickUnreserved(options, order, take);
    if (process === undefined) process = this.processes.create(options.processId, this.clock.now());
    this.hold(process, picked);
    const compare = compileOrder(order, this.view());
    const rows = [...process.rows].sort(compare).slice(0, limit);
    const events = rows.map((row) => eventJson(this.render(row)));
    if (picked.length > 0) this.changes++;
    const processId = process.id;
    if (options.clear !== false) this.removeFromProcess(process, new Set(rows), true);
    if (process.rows.length === 0) this.processes.drop(process);
    return { processId, events };
  }

  /** `event.offline.clear`: deletes rows of a PROCESS_ID (all, or those selected). */
  clear(processId: string, selection: RowSelection = {}): number {
    const process = this.processes.byId(processId);
    if (process === undefined) return 0;
    return this.removeFromProcess(process, this.selectInProcess(process, selection), true);
  }

  /** `event.offline.error`: ERROR=1 and PROCESS_ID emptied for rows of a PROCESS_ID. */
  markError(processId: string, selection: RowSelection = {}): number {
    const process = this.processes.byId(processId);
    if (process === undefined) return 0;
    return this.removeFromProcess(process, this.selectInProcess(process, selection), false);
  }

  /**
   * Runs the daily cleanup job if a run fell due since the last one (at `nowMs` or before):
   * see `cleanup`. Returns the rows deleted.
   */
  expire(nowMs: number): number {
    const atMs = this.cleanupJob.due(nowMs);
    return atMs === null ? 0 : this.cleanup(atMs);
  }

  /**
   * The cleanup job as of `atMs`: deletes reserved rows whose TIMESTAMP_X is older than the
   * lifetime, whenever they were reserved. Unreserved and error rows stay.
   */
  cleanup(atMs: number): number {
    const cutoff = this.cleanupJob.cutoff(atMs);
    let deleted = 0;
    for (const process of this.processes.all()) {
      const old = process.rows.filter((row) => this.rows.ts[row]! < cutoff);
      if (old.length > 0) deleted += this.removeFromProcess(process, new Set(old), true);
    }
    return deleted;
  }

  // ---- internals ----------------------------------------------------------------------------

  private view(): ColumnView {
    const { length, ids, ts, names, flags, procs, nameTexts } = this.rows;
    return {
      length,
      ids,
      ts,
      names,
      flags,
      procs,
      nameTexts,
      offsetMinutes: this.offsetMinutes,
      messageIdOf: (row) => this.messageIdOf(row),
      processIdOf: (row) => this.processIdOf(row),
    };
  }

  /** Up to `take` unreserved rows of the wanted ERROR value matching the filter, in `order`. */
  private pickUnreserved(
    options: ReserveOptions,
    order: readonly OrderKey[],
    take: number,
  ): number[] {
    const view = this.view();
    const plan = compilePlan(options.filter ?? { conditions: [], key: '' }, view, [
      UNRESERVED,
      errorClause(options.error === true),
    ]);
    return selectRows(this.rows, plan, order, 0, take, view);
  }

  /** Reserves `picked` rows under `process`. */
  private hold(process: Process, picked: readonly number[]): void {
    const { procs, flags } = this.rows;
    for (const row of picked) {
      procs[row] = process.slot;
      flags[row]! |= BIT_RESERVED;
      process.rows.push(row);
      this.messageIds.reserved(row);
    }
  }

  private render(row: number): OfflineRowJson {
    return rowJson(this.rows, row, {
      payload: this.payloads.get(row),
      messageId: this.messageIdOf(row),
      processId: this.processIdOf(row),
      offsetMinutes: this.offsetMinutes,
    });
  }

  private messageIdOf(row: number): string {
    return this.messageIds.of(row, this.rows.ids[row]!);
  }

  private processIdOf(row: number): string {
    return this.processes.idOfSlot(this.rows.procs[row]!);
  }

  private selectInProcess(process: Process, selection: RowSelection): Set<number> {
    if (selection.ids !== undefined) {
      const wanted = new Set(selection.ids);
      return new Set(process.rows.filter((row) => wanted.has(this.rows.ids[row]!)));
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
    const { procs, flags } = this.rows;
    for (const row of rows) {
      procs[row] = 0;
      flags[row]! &= ~BIT_RESERVED;
      if (remove) this.deleteRow(row);
      else this.markRowError(row);
    }
    process.rows = process.rows.filter((row) => !rows.has(row));
    if (process.rows.length === 0) this.processes.drop(process);
    this.changes++;
    if (remove) this.compactIfSparse();
    return rows.size;
  }

  private markRowError(row: number): void {
    this.rows.flags[row]! |= BIT_ERROR;
    this.messageIds.released(row);
  }

  private deleteRow(row: number): void {
    this.rows.markDeleted(row);
    this.payloads.delete(row);
    this.messageIds.deleted(row);
  }

  /** Compacts the columns when mostly deleted, and renumbers what is keyed by row. */
  private compactIfSparse(): void {
    const moved = this.rows.compactIfSparse();
    if (moved === null) return;
    this.payloads = new Map([...this.payloads].map(([row, value]) => [moved[row]!, value]));
    this.messageIds.remap(moved);
    this.processes.remap(moved);
  }
}

/**
 * What goes into and comes out of an offline-event queue (queue.ts): the events it takes, the
 * rows it renders for `event.offline.list` and `event.offline.get`, its options, the selections
 * of `event.offline.clear` / `error`, and the raw shapes of bulk seeding and whole-queue scans.
 */
import type { Clock } from './clock.js';
import type { Filter, OrderKey } from './filter.js';
import type { Random } from './random.js';

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

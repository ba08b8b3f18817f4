/**
 * The MESSAGE_IDs of one queue's rows and the index that merges a repeated event into its
 * unreserved row. A row's MESSAGE_ID is synthetic (the queue's salt + the ID in 16 hex digits)
 * unless its event brought one: only those explicit ones are stored, so a million seeded rows
 * carry no strings. Rows are row numbers of the queue's RowStore.
 */
import { FLAG_RESERVED } from './plan.js';
import type { RowStore } from './rowStore.js';

const BIT_RESERVED = FLAG_RESERVED;

export class MessageIds {
  /** 16 hex digits, the first half of every synthetic MESSAGE_ID. */
  private readonly salt: string;
  private explicit = new Map<number, string>();
  /** Unreserved rows carrying an explicit MESSAGE_ID, ascending (usually one per id). */
  private unreserved = new Map<string, number[]>();

  constructor(salt: string) {
    this.salt = salt;
  }

  /** The MESSAGE_ID of a row whose ID is `id`. */
  of(row: number, id: number): string {
    return this.explicit.get(row) ?? this.salt + id.toString(16).padStart(16, '0');
  }

  /** A new unreserved row brought its own MESSAGE_ID. */
  setExplicit(row: number, messageId: string): void {
    this.explicit.set(row, messageId);
    this.track(messageId, row);
  }

  /** The unreserved row carrying this MESSAGE_ID, or -1. */
  findUnreserved(messageId: string, rows: RowStore): number {
    const explicit = this.unreserved.get(messageId)?.[0] ?? -1;
    if (messageId.length !== 32 || !messageId.startsWith(this.salt)) return explicit;
    const row = rows.rowOf(Number.parseInt(messageId.slice(16), 16));
    const synthetic =
      row >= 0 && (rows.flags[row]! & BIT_RESERVED) === 0 && !this.explicit.has(row);
    return synthetic && (explicit < 0 || row < explicit) ? row : explicit;
  }

  /** A row became unreserved again (back from `event.offline.error`). */
  released(row: number): void {
    const messageId = this.explicit.get(row);
    if (messageId !== undefined) this.track(messageId, row);
  }

  /** A row was reserved: a repeated event no longer merges into it. */
  reserved(row: number): void {
    const messageId = this.explicit.get(row);
    if (messageId === undefined) return;
    const rows = this.unreserved.get(messageId);
    const at = rows?.indexOf(row) ?? -1;
    if (rows === undefined || at < 0) return;
    rows.splice(at, 1);
    if (rows.length === 0) this.unreserved.delete(messageId);
  }

  /** A row was deleted. */
  deleted(row: number): void {
    this.reserved(row);
    this.explicit.delete(row);
  }

  /** Rows were renumbered (`RowStore.compactIfSparse`). */
  remap(moved: Int32Array): void {
    this.explicit = new Map([...this.explicit].map(([row, value]) => [moved[row]!, value]));
    this.unreserved = new Map(
      [...this.unreserved].map(([messageId, rows]) => [messageId, rows.map((row) => moved[row]!)]),
    );
  }

  private track(messageId: string, row: number): void {
    const rows = this.unreserved.get(messageId);
    if (rows === undefined) {
      this.unreserved.set(messageId, [row]);
      return;
    }
    let at = rows.length;
    while (at > 0 && rows[at - 1]! > row) at--;
    rows.splice(at, 0, row);
  }
}

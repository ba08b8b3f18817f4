/**
 * Every method call a portal received, so tests can prove who called what: that the monitor
 * (holder 'monitor') never called a method that changes the queue, that a batch held only
 * read-only commands, which calls were refused and how.
 */

export interface JournalEntry {
  readonly portal: string;
  /** Lower case, as dispatched (`event.offline.list`, `batch`...). */
  readonly method: string;
  /** The label of the token pair used (see `SimPortal.authorize`); null without a known token. */
  readonly holder: string | null;
  /** A command inside a batch (the batch itself is recorded too, with false). */
  readonly viaBatch: boolean;
  /** HTTP status answered (for a batch command, the status its error would have); 0 = no answer. */
  readonly status: number;
  /** Unix ms by the portal's clock. */
  readonly at: number;
  /** The call's parameters as the portal read them (for a batch command, its own); no `auth`. */
  readonly params?: Readonly<Record<string, unknown>>;
}

export class Journal {
  private entries: JournalEntry[] = [];
  private dropped = 0;

  /** @param capacity Entries kept; the oldest are dropped beyond it. @default 100000 */
  constructor(readonly capacity = 100_000) {}

  record(entry: JournalEntry): void {
    this.entries.push(entry);
    if (this.entries.length > this.capacity * 1.25) {
      const excess = this.entries.length - this.capacity;
      this.entries = this.entries.slice(excess);
      this.dropped += excess;
    }
  }

  /** Entries in order, optionally only those matching every given field. */
  list(match: Partial<JournalEntry> = {}): JournalEntry[] {
    const keys = Object.keys(match) as (keyof JournalEntry)[];
    const kept = this.entries.slice(-this.capacity);
    return keys.length === 0
      ? kept
      : kept.filter((entry) => keys.every((key) => entry[key] === match[key]));
  }

  /** Methods called with tokens of `holder`, in order (batch commands included). */
  methodsBy(holder: string): string[] {
    return this.list({ holder }).map((entry) => entry.method);
  }

  /** Entries dropped for capacity since the start. */
  get droppedCount(): number {
    return this.dropped + Math.max(0, this.entries.length - this.capacity);
  }

  clear(): void {
    this.entries = [];
    this.dropped = 0;
  }
}

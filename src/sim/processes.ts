/**
 * The reservations of one queue: each PROCESS_ID that `event.offline.get` handed out, with
 * the rows it holds and when it was made. A row points at its reservation by a small slot
 * number (the RowStore's `procs` column, 0 = none), so the 32-character PROCESS_ID is stored
 * once per reservation, not once per row.
 */
import type { Random } from './random.js';
import { randomAlnum } from './random.js';

export interface Process {
  readonly slot: number;
  readonly id: string;
  readonly atMs: number;
  /** Row numbers (of the RowStore) the reservation holds. */
  rows: number[];
}

export class ProcessTable {
  private readonly random: Random;
  private readonly bySlot = new Map<number, Process>();
  private readonly slotById = new Map<string, number>();
  private nextSlot = 1;

  /** `random` draws the PROCESS_IDs not given. */
  constructor(random: Random) {
    this.random = random;
  }

  /** A new reservation under `processId` (which must be free), or a new random one. */
  create(processId: string | undefined, atMs: number): Process {
    let id = processId;
    while (id === undefined || this.slotById.has(id)) {
      if (processId !== undefined) throw new Error('PROCESS_ID already in use');
      id = randomAlnum(this.random, 32);
    }
    const process: Process = { slot: this.nextSlot++, id, atMs, rows: [] };
    this.bySlot.set(process.slot, process);
    this.slotById.set(id, process.slot);
    return process;
  }

  byId(processId: string): Process | undefined {
    const slot = this.slotById.get(processId);
    return slot === undefined ? undefined : this.bySlot.get(slot);
  }

  /** The PROCESS_ID of a row's slot; '' for none. */
  idOfSlot(slot: number): string {
    return slot === 0 ? '' : (this.bySlot.get(slot)?.id ?? '');
  }

  drop(process: Process): void {
    this.bySlot.delete(process.slot);
    this.slotById.delete(process.id);
  }

  /** A copy: the caller may drop reservations while it walks them. */
  all(): Process[] {
    return [...this.bySlot.values()];
  }

  /** Rows were renumbered (`RowStore.compactIfSparse`). */
  remap(moved: Int32Array): void {
    for (const process of this.bySlot.values()) {
      process.rows = process.rows.map((row) => moved[row]!);
    }
  }
}

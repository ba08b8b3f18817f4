/**
 * Appending many rows to a queue in one go (seeding, benchmarks: see fill.ts): the columns
 * are written straight, reserved rows are shared out over new PROCESS_IDs `rowsPerProcess` at a
 * time, and the Fenwick tree is rebuilt once at the end, so a million rows take O(rows).
 * No merging by MESSAGE_ID: bulk rows carry synthetic ones.
 */
import { FLAG_ERROR, FLAG_RESERVED } from './plan.js';
import type { Process, ProcessTable } from './processes.js';
import type { BulkRows, IdSequence } from './queueTypes.js';
import type { RowStore } from './rowStore.js';
import { wholeSeconds } from './rowStore.js';

// Local copies: hot loops should read plain constants, not imported bindings.
const BIT_ERROR = FLAG_ERROR;
const BIT_RESERVED = FLAG_RESERVED;

/** Appends `bulk` (one row or more) to `store`, IDs from `sequence`; returns the first and last ID given. */
export function appendBulk(
  store: RowStore,
  processes: ProcessTable,
  sequence: IdSequence,
  bulk: BulkRows,
): { firstId: number; lastId: number } {
  const nameMap = Uint16Array.from(bulk.eventNames, (name) => store.internName(name));
  store.ensureCapacity(store.length + bulk.count);
  const { ids, ts, names, flags, procs } = store;
  let process: Process | null = null;
  let firstId = 0;
  let lastId = 0;
  for (let k = 0; k < bulk.count; k++) {
    const row = store.length + k;
    const id = sequence.next();
    if (k === 0) firstId = id;
    lastId = id;
    ids[row] = id;
    ts[row] = wholeSeconds(bulk.timestampMs[k]!);
    names[row] = nameMap[bulk.nameIndex[k]!]!;
    flags[row] = bulk.error[k] === 1 ? BIT_ERROR : 0;
    if (bulk.reserved[k] === 1) {
      if (process === null || process.rows.length >= bulk.rowsPerProcess) {
        process = processes.create(undefined, bulk.reservedAtMs);
      }
      process.rows.push(row);
      procs[row] = process.slot;
      flags[row]! |= BIT_RESERVED;
    } else {
      procs[row] = 0;
    }
  }
  store.length += bulk.count;
  store.live += bulk.count;
  store.rebuildFenwick(store.ids.length);
  return { firstId, lastId };
}

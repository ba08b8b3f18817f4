/**
 * The SQL-backed simulated portal: the simulator's queue kept in a real MariaDB, so that what
 * each `event.offline.list` costs the server (its `COUNT(*)` and its page) is measured, not
 * guessed. Used by the tests and the bench; nothing the monitor or the demo runs imports it
 * (`mysql2` is a dev dependency).
 *
 * ```ts
 * const db = await startMariaDb();
 * const sim = await SimServer.start();
 * const { portal, queue } = await addSqlPortal(sim, 'big', { socket: db.socket, appId: 1 });
 * await fillSqlQueue(queue, { rows: 1_000_000, eventNames, shape: 'stuck', nowMs: Date.now() });
 * ```
 */
import type { SimServer } from '../server.js';
import type { SimPortal } from '../portal.js';
import type { SimPortalOptions } from '../portalOptions.js';
import { parseOffset } from '../dates.js';
import type { OfflineQueue } from '../queue.js';
import { SqlQueue } from './store.js';
import type { SqlQueueOptions } from './store.js';

export { findMariaDb, startMariaDb } from './mariadb.js';
export type { MariaDb } from './mariadb.js';
export { SqlQueue } from './store.js';
export type { SqlListTrace, SqlQueueOptions, SqlWork } from './store.js';
export { fillSqlQueue } from './fill.js';
export type { QueueShape } from './fill.js';
export { orderSql, whereSql } from './where.js';
export { TABLE } from './schema.js';

export interface SqlPortal {
  readonly portal: SimPortal;
  readonly queue: SqlQueue;
}

/** Adds a portal whose `event.offline.list` is answered by MariaDB (rows of app `appId`). */
export async function addSqlPortal(
  server: SimServer,
  id: string,
  sql: Omit<SqlQueueOptions, 'offsetMinutes'>,
  options: SimPortalOptions = {},
): Promise<SqlPortal> {
  const offsetMinutes = parseOffset(options.timezone ?? '+03:00');
  const queue = await SqlQueue.open({ ...sql, offsetMinutes });
  const portal = server.addPortal(id, { ...options, listBackend: queue });
  if (portal.offsetMinutes !== offsetMinutes) throw new Error('portal and SQL time zones differ');
  return { portal, queue };
}

/** Copies every row of an in-memory queue into the SQL queue, IDs and all. */
export async function copyQueue(from: OfflineQueue, to: SqlQueue, connector = ''): Promise<void> {
  const rows = from.list({ conditions: [], key: '' }, [{ field: 'ID', desc: false }], 0, from.size);
  await to.insertRows(
    rows.map((row) => ({
      id: Number(row.ID),
      timestampMs: Date.parse(row.TIMESTAMP_X),
      eventName: row.EVENT_NAME,
      messageId: row.MESSAGE_ID,
      processId: row.PROCESS_ID,
      error: row.ERROR === '1',
      data: row.EVENT_DATA,
      additional: row.EVENT_ADDITIONAL,
      connector,
    })),
  );
}

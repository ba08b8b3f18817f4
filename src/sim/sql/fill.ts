/**
 * Fills a portal's SQL queue fast with `INSERT … SELECT` from MariaDB's `seq_1_to_N` tables
 * (about 15 s for a million rows): event names with falling shares (a few busy, most quiet),
 * 85 % queued, 10 % error, 5 % reserved (50 rows per PROCESS_ID), in one of two shapes:
 * - `healthy`: consumers keep up, every row arrived in the last two minutes;
 * - `stuck`: nobody consumes, rows spread over the last ten days (older IDs older).
 */
import type { SqlQueue } from './store.js';
import { TABLE } from './schema.js';
import type { SqlValue } from './where.js';

export type QueueShape = 'healthy' | 'stuck';

export interface SqlFillSpec {
  readonly rows: number;
  readonly eventNames: readonly string[];
  readonly shape: QueueShape;
  /** The newest row's time. */
  readonly nowMs: number;
  /** @default '' */
  readonly connector?: string;
  /** Called after each chunk with the rows inserted so far. */
  readonly progress?: (rows: number) => void;
}

/** How far back the oldest row lies, by shape. */
const SHAPE_SPAN_SEC: Readonly<Record<QueueShape, number>> = {
  healthy: 120,
  stuck: 10 * 86_400,
};

const CHUNK = 250_000;

/** Each name a quarter less frequent than the one before, at least 1 % (as the bench's mix). */
function nameShares(count: number): number[] {
  const raw = Array.from({ length: count }, (_, i) => Math.max(0.01, 0.3 * 0.75 ** i));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / sum);
}

/** `CASE` picking a name by a uniform number `u` in [0, 1). */
function nameCase(names: readonly string[]): { sql: string; params: SqlValue[] } {
  const shares = nameShares(names.length);
  let cumulative = 0;
  const params: SqlValue[] = [];
  const arms = names.slice(0, -1).map((name, i) => {
    cumulative += shares[i] ?? 0;
    params.push(cumulative, name);
    return 'WHEN u < ? THEN ?';
  });
  params.push(names.at(-1) ?? 'ONCRMLEADADD');
  return { sql: `CASE ${arms.join(' ')} ELSE ? END`, params };
}

/** Appends `spec.rows` rows to the queue's app (IDs continue the table's sequence). */
export async function fillSqlQueue(queue: SqlQueue, spec: SqlFillSpec): Promise<void> {
  if (spec.eventNames.length === 0) throw new Error('fillSqlQueue needs event names');
  const span = SHAPE_SPAN_SEC[spec.shape];
  const nowSec = Math.floor(spec.nowMs / 1000);
  const names = nameCase(spec.eventNames);
  for (let from = 1; from <= spec.rows; from += CHUNK) {
    const to = Math.min(spec.rows, from + CHUNK - 1);
    // u: a well-mixed uniform number per row (Knuth's multiplicative hash of seq)
    await queue.query(
      `INSERT INTO ${TABLE}
         (TIMESTAMP_X, MESSAGE_ID, APP_ID, EVENT_NAME, EVENT_DATA, EVENT_ADDITIONAL, PROCESS_ID, CONNECTOR_ID, ERROR)
       SELECT FROM_UNIXTIME(? - FLOOR((? - seq) * ? / ?)),
              MD5(CONCAT(?, '-', ?, '-', seq)),
              ?,
              ${names.sql},
              CONCAT('{"FIELDS":{"ID":', seq, '}}'),
              '{"user_id":"1"}',
              IF(seq % 20 = 1, MD5(CONCAT('process-', ?, '-', seq DIV 1000)), ''),
              ?,
              IF(seq % 10 = 0, 1, 0)
       FROM (SELECT seq, ((seq * 2654435761) % 4294967296) / 4294967296 AS u
             FROM seq_${from}_to_${to}) AS s`,
      [
        nowSec,
        spec.rows,
        span,
        spec.rows,
        queue.appId,
        spec.nowMs,
        queue.appId,
        ...names.params,
        queue.appId,
        spec.connector ?? '',
      ],
    );
    spec.progress?.(to);
  }
}

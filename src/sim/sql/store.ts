/**
 * One portal's offline-event queue in MariaDB: the list backend of the SQL-backed portal.
 * Every `event.offline.list` runs what the server runs: a `COUNT(*)` of the rows its filter
 * matches (for `total`) and the ordered page, `LIMIT 50 OFFSET start`, both on one
 * connection whose session time zone is the portal's. The portal measures the time these
 * take as the command's `processing` (and charges it to the operating time).
 */
import { performance } from 'node:perf_hooks';
import { createPool } from 'mysql2/promise';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { formatIso } from '../dates.js';
import type { OfflineListBackend, OfflineListPage, OfflineListRequest } from '../listBackend.js';
import type { EventPayload, OfflineRowJson } from '../queueTypes.js';
import { CREATE_TABLE, SELECT_COLUMNS, TABLE } from './schema.js';
import { orderSql, whereSql } from './where.js';
import type { SqlValue } from './where.js';

export interface SqlQueueOptions {
  /** The server's Unix socket (user root, no password; see mariadb.ts). */
  readonly socket: string;
  /** @default 'b24sim' */
  readonly database?: string;
  /** The application whose rows this portal sees. */
  readonly appId: number;
  /** The portal's UTC offset, minutes: dates in filters and rows are read in it. */
  readonly offsetMinutes: number;
  /** @default 4 */
  readonly connections?: number;
}

/** A row to insert as it is (tests copy an in-memory queue row by row). */
export interface SqlRowInput {
  readonly id: number;
  readonly timestampMs: number;
  readonly eventName: string;
  readonly messageId: string;
  readonly processId: string;
  readonly error: boolean;
  readonly data: EventPayload;
  readonly additional: EventPayload;
  /** @default '' */
  readonly connector?: string;
}

interface ListRow extends RowDataPacket {
  ID: number;
  TS: number | string;
  EVENT_NAME: string;
  EVENT_DATA: string | null;
  EVENT_ADDITIONAL: string | null;
  MESSAGE_ID: string;
  PROCESS_ID: string | null;
  ERROR: number | null;
}

function sqlTimeZone(offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function payload(text: string | null): EventPayload {
  if (text === null) return null;
  try {
    return JSON.parse(text) as EventPayload;
  } catch {
    return false;
  }
}

function render(row: ListRow, offsetMinutes: number): OfflineRowJson {
  return {
    ID: String(row.ID),
    TIMESTAMP_X: formatIso(Number(row.TS) * 1000, offsetMinutes),
    EVENT_NAME: row.EVENT_NAME,
    EVENT_DATA: payload(row.EVENT_DATA),
    EVENT_ADDITIONAL: payload(row.EVENT_ADDITIONAL),
    MESSAGE_ID: row.MESSAGE_ID,
    PROCESS_ID: row.PROCESS_ID ?? '',
    ERROR: Number(row.ERROR ?? 0) === 0 ? '0' : '1',
  };
}

/** What the lists of a queue have cost the database so far (read by the bench). */
export interface SqlWork {
  lists: number;
  /** Database time of the lists' queries (COUNT and page), seconds. */
  seconds: number;
  /** Sum of the Handler_read_* deltas of the lists (only while `measureHandlers`). */
  handlerReads: number;
  /** Lists running now (a client that gave up does not stop the server's work). */
  inFlight: number;
  /**
   * Wall time with at least one list running, seconds: unlike `seconds`, lists that overlap
   * (a retried batch next to the one the client gave up on) count once.
   */
  busySeconds: number;
}

/** One list as the store ran it (the bench's `--sql-trace`): where the database time went. */
export interface SqlListTrace {
  readonly where: string;
  readonly params: readonly SqlValue[];
  readonly order: string;
  readonly offset: number;
  readonly total: number;
  readonly countMs: number;
  readonly pageMs: number;
}

const HANDLER_READS = "SHOW SESSION STATUS LIKE 'Handler_read%'";

async function handlerReads(connection: PoolConnection): Promise<number> {
  const [rows] = await connection.query<RowDataPacket[]>(HANDLER_READS);
  return rows.reduce((sum, row) => sum + Number((row as { Value: string }).Value), 0);
}

export class SqlQueue implements OfflineListBackend {
  readonly appId: number;
  readonly offsetMinutes: number;
  readonly database: string;
  readonly work: SqlWork = { lists: 0, seconds: 0, handlerReads: 0, inFlight: 0, busySeconds: 0 };
  /** Called after each list with its queries' times (null: not traced). */
  trace: ((entry: SqlListTrace) => void) | null = null;
  private busySince = 0;
  /** Rows the status query itself reads, subtracted from each delta; set by measureHandlers. */
  private handlerOverhead: number | null = null;

  private constructor(
    private readonly pool: Pool,
    options: SqlQueueOptions,
  ) {
    this.appId = options.appId;
    this.offsetMinutes = options.offsetMinutes;
    this.database = options.database ?? 'b24sim';
  }

  /** Connects, creating the database and the table when they are missing. */
  static async open(options: SqlQueueOptions): Promise<SqlQueue> {
    const database = options.database ?? 'b24sim';
    const setup = createPool({ socketPath: options.socket, user: 'root', connectionLimit: 1 });
    try {
      await setup.query(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
      await setup.query(`USE \`${database}\``);
      await setup.query(CREATE_TABLE);
    } finally {
      await setup.end();
    }
    const pool = createPool({
      socketPath: options.socket,
      user: 'root',
      database,
      connectionLimit: options.connections ?? 4,
      supportBigNumbers: true,
    });
    const zone = sqlTimeZone(options.offsetMinutes);
    // mysql2 queues this before any query of a new connection
    pool.pool.on('connection', (connection) => {
      connection.query(`SET time_zone = '${zone}'`);
    });
    return new SqlQueue(pool, options);
  }

  async list(request: OfflineListRequest): Promise<OfflineListPage> {
    const scope = { appId: this.appId, connector: request.connector };
    const where = whereSql(request.filter, scope, this.offsetMinutes);
    const connection = await this.pool.getConnection();
    if (this.work.inFlight++ === 0) this.busySince = performance.now();
    try {
      const before = this.handlerOverhead === null ? 0 : await handlerReads(connection);
      const started = performance.now();
      const [counted] = await connection.query<RowDataPacket[]>(
        `SELECT COUNT(*) AS n FROM ${TABLE} WHERE ${where.sql}`,
        [...where.params],
      );
      const counting = performance.now();
      const order = orderSql(request.order);
      const [rows] = await connection.query<ListRow[]>(
        `SELECT ${SELECT_COLUMNS} FROM ${TABLE} WHERE ${where.sql} ORDER BY ${order} LIMIT ? OFFSET ?`,
        [...where.params, request.limit, request.offset],
      );
      const ended = performance.now();
      this.work.seconds += (ended - started) / 1000;
      this.work.lists++;
      if (this.handlerOverhead !== null) {
        const after = await handlerReads(connection);
        this.work.handlerReads += after - before - this.handlerOverhead;
      }
      const total = Number((counted[0] as { n: number | string } | undefined)?.n ?? 0);
      this.trace?.({
        where: where.sql,
        params: where.params,
        order,
        offset: request.offset,
        total,
        countMs: counting - started,
        pageMs: ended - counting,
      });
      return { rows: rows.map((row) => render(row, this.offsetMinutes)), total };
    } finally {
      if (--this.work.inFlight === 0) {
        this.work.busySeconds += (performance.now() - this.busySince) / 1000;
      }
      connection.release();
    }
  }

  /** `work` as of now, the running stretch of busy time included. */
  workNow(): SqlWork {
    const running = this.work.inFlight > 0 ? (performance.now() - this.busySince) / 1000 : 0;
    return { ...this.work, busySeconds: this.work.busySeconds + running };
  }

  /**
   * Counts the rows each list reads (Handler_read_* of its session, before and after). The
   * two status queries add about a millisecond to each command's `processing`, not to
   * `work.seconds`.
   */
  async measureHandlers(): Promise<void> {
    const connection = await this.pool.getConnection();
    try {
      const first = await handlerReads(connection);
      const second = await handlerReads(connection);
      this.handlerOverhead = second - first;
    } finally {
      connection.release();
    }
  }

  /** Inserts rows with their own IDs (copies of another queue's rows). */
  async insertRows(rows: readonly SqlRowInput[]): Promise<void> {
    const chunk = 500;
    for (let at = 0; at < rows.length; at += chunk) {
      const part = rows.slice(at, at + chunk);
      const values = part.map(
        (row) =>
          [
            row.id,
            row.timestampMs / 1000,
            row.messageId,
            this.appId,
            row.eventName,
            row.data === null ? null : JSON.stringify(row.data),
            row.additional === null ? null : JSON.stringify(row.additional),
            row.processId,
            row.connector ?? '',
            row.error ? 1 : 0,
          ] as const,
      );
      await this.pool.query(
        `INSERT INTO ${TABLE} (ID, TIMESTAMP_X, MESSAGE_ID, APP_ID, EVENT_NAME, EVENT_DATA, EVENT_ADDITIONAL, PROCESS_ID, CONNECTOR_ID, ERROR) VALUES ${values
          .map(() => '(?, FROM_UNIXTIME(?), ?, ?, ?, ?, ?, ?, ?, ?)')
          .join(', ')}`,
        values.flat() as SqlValue[],
      );
    }
  }

  /** Deletes this app's rows (every connector). */
  async clear(): Promise<void> {
    await this.pool.query(`DELETE FROM ${TABLE} WHERE APP_ID = ?`, [this.appId]);
  }

  /** Runs a statement on one of the store's connections (fills, statistics). */
  async query<T extends RowDataPacket[]>(sql: string, params: readonly SqlValue[] = []) {
    const [rows] = await this.pool.query<T>(sql, [...params]);
    return rows;
  }

  /** A connection of the store's pool, for work that needs one session. */
  connection(): Promise<PoolConnection> {
    return this.pool.getConnection();
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The public shape of the REST client: what the poller needs, nothing more. */
import type { ApiTime } from './schemas.js';

/** The only methods the monitor may call. `event.offline.get` is absent on purpose: it reserves rows. */
export const READ_ONLY_METHODS = [
  'event.offline.list',
  'event.get',
  'feature.get',
  'batch',
] as const;
export type ReadOnlyMethod = (typeof READ_ONLY_METHODS)[number];
export type BatchableMethod = Exclude<ReadOnlyMethod, 'batch'>;

export type Params = Readonly<Record<string, unknown>>;

export interface CallOptions {
  /** Aborts the call, its retries and waits (poll deadline, shutdown). */
  readonly signal?: AbortSignal;
  /**
   * Unix time (ms) by which the call must be over (the poll's deadline). A retry whose wait
   * would end later is not started: the error at hand is thrown instead, so a poll fails with
   * its real reason (`operating_limit`, `rate_limit`...) rather than an abort.
   */
  readonly deadline?: number;
  /**
   * Retry a request that timed out. A poll says false: a timeout on a busy server would only
   * give it the same work twice. @default true
   */
  readonly retryTimeouts?: boolean;
}

export interface CallAnswer {
  readonly result: unknown;
  readonly total?: number;
  readonly next?: number;
  readonly time?: ApiTime;
}

export interface BatchCommand {
  readonly method: BatchableMethod;
  readonly params: Params;
}

interface BatchCommandFailure {
  readonly error: string;
  readonly error_description?: string;
  /**
   * For OPERATION_TIME_LIMIT: Unix seconds when the command's method resets, from the last
   * good answer of that method (the refusal carries no `time`).
   */
  readonly operatingResetAt?: number;
}

export interface BatchAnswer {
  readonly result: Readonly<Record<string, unknown>>;
  readonly resultError: Readonly<Record<string, BatchCommandFailure>>;
  readonly resultTotal: Readonly<Record<string, number>>;
  readonly resultNext: Readonly<Record<string, number>>;
  readonly resultTime: Readonly<Record<string, ApiTime>>;
}

export interface RestClient {
  /** One read-only method; retries, refreshes and throttles inside. Throws a MonitorError. */
  call(method: ReadOnlyMethod, params: Params, options?: CallOptions): Promise<CallAnswer>;
  /** Up to 50 commands in one HTTP request (`halt=0`). Per-command errors land in `resultError`. */
  batch(
    commands: Readonly<Record<string, BatchCommand>>,
    options?: CallOptions,
  ): Promise<BatchAnswer>;
}

/** Hooks the client calls so the metrics layer can count without the client knowing prom-client. */
export interface ClientObserver {
  /** An HTTP request was sent to the portal (`batch` counts once, as `batch`). */
  request(method: string): void;
  /** An error answer: Bitrix24 code, `HTTP_<status>`, or a network code such as `ECONNRESET`. */
  restError(method: string, code: string): void;
  /** `time.operating` reported for a method (for batch: per command method). */
  operating(method: string, seconds: number): void;
  /** A token refresh finished. */
  refresh(ok: boolean): void;
  /** A new token pair could not be written to the token file (it is kept in memory). */
  tokenPersistFailed?(): void;
}

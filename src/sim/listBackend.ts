/**
 * Where `event.offline.list` can be answered from instead of the in-memory queue: the
 * SQL-backed portal (`src/sim/sql`) keeps the queue in a real database, so that what a poll
 * costs the server can be measured. The portal's pipeline (auth, limits, batch, faults) is
 * the same either way; only the list's rows and total come from here.
 */
import type { Filter, OrderKey } from './filter.js';
import type { OfflineRowJson } from './queueTypes.js';

export interface OfflineListRequest {
  /** `auth_connector` of the request ('' = rows with no connector). */
  readonly connector: string;
  readonly filter: Filter;
  readonly order: readonly OrderKey[];
  readonly offset: number;
  readonly limit: number;
}

export interface OfflineListPage {
  readonly rows: OfflineRowJson[];
  /** Rows matching the filter (`total`). */
  readonly total: number;
}

export interface OfflineListBackend {
  list(request: OfflineListRequest): Promise<OfflineListPage>;
}

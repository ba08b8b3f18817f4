/**
 * The REST methods of the simulated portal. Each handler reads PHP-style parameters (top-level
 * names lower-cased), throws `SimApiError` for error answers and returns `result` (plus `total`
 * and `next` for lists). Limits, auth and the journal are the portal's business, not theirs.
 */
import type { Authorization } from './oauth.js';
import type { EventBindings } from './bindings.js';
import { SimApiError, argumentError } from './errors.js';
import type { FaultInjector } from './faults.js';
import type { OfflineListBackend } from './listBackend.js';
import {
  DEFAULT_GET_ORDER,
  DEFAULT_LIST_ORDER,
  GET_FILTER_FIELDS,
  parseFilter,
  parseOrder,
} from './filter.js';
import { phpEmpty, phpInt, phpString, valuesOf } from './params.js';
import type { OfflineQueue } from './queue.js';
import type { RowSelection } from './queueTypes.js';

/** Rows per page of `event.offline.list`; fixed by the API. */
const PAGE_SIZE = 50;

/** What handlers may use of the portal. */
export interface MethodHost {
  readonly offsetMinutes: number;
  readonly offlineExtended: boolean;
  /** `event.offline.list` answers without `total` (the documented `start=-1` rule, or a portal that skips the count). */
  readonly omitListTotal: boolean;
  readonly bindings: EventBindings;
  readonly faults: FaultInjector;
  /** Answers `event.offline.list` instead of the in-memory queue (the SQL-backed portal). */
  readonly listBackend: OfflineListBackend | null;
  queue(connector: string): OfflineQueue;
}

interface MethodCall {
  readonly host: MethodHost;
  /** Parameters with lower-cased top-level names. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly authorization: Authorization;
  /**
   * `auth_connector` of the HTTP request (trimmed; undefined when absent). The server reads it
   * with the request's auth data, from the top level only: inside a batch every command gets
   * the batch request's own, and a command's `auth_connector` parameter is ignored.
   */
  readonly authConnector: string | undefined;
}

export interface MethodOutput {
  readonly result: unknown;
  readonly total?: unknown;
  readonly next?: number;
  /** Queue rows the call read, for the cost model of its server time. */
  readonly rowsExamined?: number;
}

export interface MethodSpec {
  /** `event.*` methods need an administrator's token (403 ACCESS_DENIED otherwise). */
  readonly adminOnly: boolean;
  /** Changes the queue or the bindings. */
  readonly mutating: boolean;
  /** A promise only where the work is asynchronous (a list answered by a database). */
  run(call: MethodCall): MethodOutput | Promise<MethodOutput>;
}

/** The queue a call works on: its request's `auth_connector`, '' = rows with no connector. */
function connectorOf(call: MethodCall): string {
  return call.authConnector ?? '';
}

function requiredProcessId(params: Readonly<Record<string, unknown>>): string {
  const processId = phpString(params['process_id']).trim();
  if (processId === '') throw argumentError("Argument 'process_id' is null or empty");
  return processId;
}

/** `id` (row IDs) wins over `message_id`, like the real `event.offline.clear`. */
function selectionOf(params: Readonly<Record<string, unknown>>): RowSelection {
  if (!phpEmpty(params['id'])) return { ids: valuesOf(params['id']).map(phpInt) };
  if (!phpEmpty(params['message_id'])) {
    return { messageIds: valuesOf(params['message_id']).map(phpString) };
  }
  return {};
}

const offlineList: MethodSpec = {
  adminOnly: true,
  mutating: false,
  run(call) {
    const { host, params } = call;
    const filter = parseFilter(params['filter'], { offsetMinutes: host.offsetMinutes });
    const order = parseOrder(params['order'], DEFAULT_LIST_ORDER);
    const start = phpInt(params['start']);
    const offset = start > 0 ? start : 0; // -1 means "no offset"; `total` is computed anyway
    const connector = connectorOf(call);
    const answer = (result: unknown, total: number, rowsExamined: number): MethodOutput => {
      const more = offset + PAGE_SIZE < total ? { next: offset + PAGE_SIZE } : {};
      const body = host.omitListTotal ? { result, ...more } : { result, total, ...more };
      return { ...host.faults.corruptList(body), rowsExamined };
    };
    if (host.listBackend !== null) {
      // processing is then the database's measured time: no modelled cost per row
      return host.listBackend
        .list({ connector, filter, order, offset, limit: PAGE_SIZE })
        .then((page) => answer(page.rows, page.total, 0));
    }
    const queue = host.queue(connector);
    const total = queue.count(filter);
    // Its COUNT(*) and page read the connector's queue through the (APP_ID, CONNECTOR_ID) index.
    return answer(queue.list(filter, order, offset, PAGE_SIZE), total, queue.size);
  },
};

const offlineGet: MethodSpec = {
  adminOnly: true,
  mutating: true,
  run(call) {
    const { host, params } = call;
    const filter = parseFilter(params['filter'], {
      fields: GET_FILTER_FIELDS,
      offsetMinutes: host.offsetMinutes,
    });
    const order = parseOrder(params['order'], DEFAULT_GET_ORDER, GET_FILTER_FIELDS);
    const limit = params['limit'] === undefined ? PAGE_SIZE : phpInt(params['limit']);
    if (limit <= 0) throw argumentError('Value of limit must be a positive integer');
    // Without the extended mode there is no reservation: rows are always deleted.
    const clear =
      !host.offlineExtended || params['clear'] === undefined || phpInt(params['clear']) !== 0;
    const processId = phpString(params['process_id']).trim();
    const reserved = host.queue(connectorOf(call)).reserve(limit, {
      filter,
      order,
      clear,
      error: phpInt(params['error']) > 0,
      ...(processId === '' ? {} : { processId }),
    });
    return { result: { process_id: clear ? null : reserved.processId, events: reserved.events } };
  },
};

const offlineClear: MethodSpec = {
  adminOnly: true,
  mutating: true,
  run(call) {
    const { host, params } = call;
    host.queue(connectorOf(call)).clear(requiredProcessId(params), selectionOf(params));
    return { result: true };
  },
};

const offlineError: MethodSpec = {
  adminOnly: true,
  mutating: true,
  run(call) {
    const { host, params } = call;
    host.queue(connectorOf(call)).markError(requiredProcessId(params), selectionOf(params));
    return { result: true };
  },
};

const eventGet: MethodSpec = {
  adminOnly: true,
  mutating: false,
  run({ host }) {
    const result = host.bindings.list().map((binding) => ({
      event: binding.event,
      handler: binding.handler,
      auth_type: '0',
      offline: binding.offline ? 1 : 0,
      // Offline handlers always name their connector ('' = none), online ones never do.
      ...(binding.offline ? { connector_id: binding.connector } : {}),
    }));
    return { result };
  },
};

function eventNameOf(params: Readonly<Record<string, unknown>>): string {
  const event = phpString(params['event']).trim().toUpperCase();
  if (!/^ON[A-Z0-9_]+$/.test(event)) {
    throw new SimApiError(400, 'ERROR_EVENT_NOT_FOUND', 'Event not found');
  }
  return event;
}

function isOfflineType(params: Readonly<Record<string, unknown>>): boolean {
  return phpString(params['event_type']).trim().toLowerCase() === 'offline';
}

const eventBind: MethodSpec = {
  adminOnly: true,
  mutating: true,
  run(call) {
    const { host, params } = call;
    const event = eventNameOf(params);
    const offline = isOfflineType(params);
    const handler = phpString(params['handler']).trim();
    if (!offline && handler === '') throw argumentError('Handler is required');
    const added = host.bindings.bind(event, {
      offline,
      handler,
      connector: connectorOf(call),
    });
    if (!added) throw new SimApiError(400, 'ERROR_CORE', 'Handler already binded');
    return { result: true };
  },
};

const eventUnbind: MethodSpec = {
  adminOnly: true,
  mutating: true,
  run(call) {
    const { host, params } = call;
    const offline = isOfflineType(params);
    const handler = phpString(params['handler']).trim();
    const count = host.bindings.unbind(eventNameOf(params), {
      offline,
      ...(handler === '' ? {} : { handler }),
      ...(call.authConnector === undefined ? {} : { connector: connectorOf(call) }),
    });
    return { result: { count } };
  },
};

const featureGet: MethodSpec = {
  adminOnly: false,
  mutating: false,
  run({ host, params }) {
    const code = phpString(params['code']).trim();
    if (code === '') throw argumentError("Argument 'CODE' is null or empty");
    const on = code === 'rest_offline_extended' && host.offlineExtended;
    return { result: { value: on ? 'Y' : 'N' } };
  },
};

/** Every method the portal knows, by lower-case name (`batch` is the portal's own). */
export const METHODS: ReadonlyMap<string, MethodSpec> = new Map([
  ['event.offline.list', offlineList],
  ['event.offline.get', offlineGet],
  ['event.offline.clear', offlineClear],
  ['event.offline.error', offlineError],
  ['event.get', eventGet],
  ['event.bind', eventBind],
  ['event.unbind', eventUnbind],
  ['feature.get', featureGet],
]);

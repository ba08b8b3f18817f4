/**
 * The scan strategy: a keyset scan (`order {ID: ASC}`, `filter {">ID": last}`) that sees every
 * row existing throughout the scan exactly once, even while consumers delete rows (offsets
 * would shift). Rows are folded into the snapshot page by page: memory does not grow with
 * the queue. Cost: one request per 50 rows.
 */
import { BadResponseError } from '../b24/errors.js';
import type { CallAnswer, CallOptions, Params, RestClient } from '../b24/types.js';
import { runCommands } from './commands.js';
import { parseOfflineEventNames, parseRows, parseTimestamp, parseTotal } from './rows.js';
import { rowStatus, SnapshotBuilder, type QueueSnapshot } from './snapshot.js';

export const PAGE_SIZE = 50;

export interface ScanInput {
  readonly client: RestClient;
  /** Unix seconds the ages are measured from. */
  readonly takenAt: number;
  readonly knownEventNames: Iterable<string>;
  readonly authConnector?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Unix ms by which the poll must end: retries that would wait past it are not started. */
  readonly deadline?: number | undefined;
}

export function listParams(
  filter: Params,
  authConnector: string | undefined,
  order: Params = { ID: 'ASC' },
): Params {
  return {
    filter,
    order,
    // `start: 0` is the documented way to get `total`; `-1` may turn the count off.
    start: 0,
    ...(authConnector === undefined ? {} : { auth_connector: authConnector }),
  };
}

/** The first request of every poll: the bound event names and the first page, in one batch. */
export async function firstRequest(
  input: ScanInput,
): Promise<{ eventNames: string[]; firstPage: CallAnswer }> {
  const answers = await runCommands(
    input.client,
    {
      handlers: { method: 'event.get', params: {} },
      page: { method: 'event.offline.list', params: listParams({ '>ID': 0 }, input.authConnector) },
    },
    callOptions(input),
  );
  return {
    eventNames: parseOfflineEventNames(answers['handlers']?.result),
    firstPage: answers['page'] as CallAnswer,
  };
}

/** Scans the whole queue, starting from a first page already fetched. */
export async function scanFrom(
  input: ScanInput,
  eventNames: readonly string[],
  firstPage: CallAnswer,
): Promise<QueueSnapshot> {
  const builder = new SnapshotBuilder(input.takenAt, [...input.knownEventNames, ...eventNames]);
  // A portal that leaves `total` out is scanned to a short page, and the rows are the depth.
  const depth = firstPage.total === undefined ? null : parseTotal(firstPage.total);
  let page = firstPage;
  let lastId = 0;
  let seen = 0;
  for (;;) {
    const rows = parseRows(page.result);
    seen += rows.length;
    for (const row of rows) {
      if (row.ID <= lastId)
        throw new BadResponseError('event.offline.list', 'rows are not in ascending ID order');
      lastId = row.ID;
      builder.add(
        row.EVENT_NAME.toUpperCase(),
        rowStatus(row.PROCESS_ID, row.ERROR),
        parseTimestamp(row.TIMESTAMP_X),
      );
    }
    // `total` counts the rows matching this page's filter, this page included: when the page
    // holds them all, there is nothing left and no further request is needed.
    const remaining = page.total === undefined ? Infinity : parseTotal(page.total);
    if (rows.length < PAGE_SIZE || remaining <= rows.length) break;
    page = await input.client.call(
      'event.offline.list',
      listParams({ '>ID': lastId }, input.authConnector),
      callOptions(input),
    );
  }
  return builder.finish(depth ?? seen);
}

export async function scanQueue(input: ScanInput): Promise<QueueSnapshot> {
  const { eventNames, firstPage } = await firstRequest(input);
  return scanFrom(input, eventNames, firstPage);
}

export function callOptions(input: ScanInput): CallOptions {
  return {
    retryTimeouts: false,
    ...(input.signal === undefined ? {} : { signal: input.signal }),
    ...(input.deadline === undefined ? {} : { deadline: input.deadline }),
  };
}

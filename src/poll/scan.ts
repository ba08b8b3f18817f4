/**
 * The scan strategy: a keyset scan (`order {ID: ASC}`, `filter {">ID": last}`) that sees every
 * row existing throughout the scan exactly once, even while consumers delete rows (offsets
 * would shift). Rows are folded into the snapshot page by page: memory does not grow with
 * the queue. Cost: one request per 50 rows.
 */
import { BadResponseError } from '../b24/errors.js';
import type { CallAnswer } from '../b24/types.js';
import { callOptions, listParams, PAGE_SIZE, type ScanInput } from './offlineList.js';
import { runCommands } from './runBatch.js';
import {
  optionalTotal,
  parseOfflineEventNames,
  parseRows,
  parseTimestamp,
} from './parseAnswers.js';
import { rowStatus, SnapshotBuilder, type QueueSnapshot } from '../queue/snapshot.js';

/** The first request of every poll: the bound event names and the first page, in one batch. */
async function firstRequest(
  input: ScanInput,
): Promise<{ eventNames: string[]; firstPage: CallAnswer }> {
  const answers = await runCommands(
    input.client,
    {
      handlers: { method: 'event.get', params: {} },
      page: { method: 'event.offline.list', params: listParams({ '>ID': 0 }) },
    },
    callOptions(input),
  );
  return {
    eventNames: parseOfflineEventNames(answers['handlers']?.result, input.authConnector),
    firstPage: answers['page'] as CallAnswer,
  };
}

/** Scans the whole queue, starting from a first page already fetched. */
async function scanFrom(
  input: ScanInput,
  eventNames: readonly string[],
  firstPage: CallAnswer,
): Promise<QueueSnapshot> {
  const builder = new SnapshotBuilder(input.takenAt, [...input.knownEventNames, ...eventNames]);
  // Without `total` (a portal may leave it out) the depth is the rows the scan saw.
  const depth = optionalTotal(firstPage.total);
  let seen = 0;
  let page = firstPage;
  let lastId = 0;
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
    // holds them all, there is nothing left and no further request is needed. Without it, a
    // short page ends the scan.
    const remaining = optionalTotal(page.total);
    if (rows.length < PAGE_SIZE || (remaining !== undefined && remaining <= rows.length)) break;
    page = await input.client.call(
      'event.offline.list',
      listParams({ '>ID': lastId }),
      callOptions(input),
    );
  }
  const snapshot = builder.finish(depth ?? seen);
  return depth === undefined ? { ...snapshot, totalMissing: true } : snapshot;
}

export async function scanQueue(input: ScanInput): Promise<QueueSnapshot> {
  const { eventNames, firstPage } = await firstRequest(input);
  return scanFrom(input, eventNames, firstPage);
}

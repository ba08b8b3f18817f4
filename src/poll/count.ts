/**
 * The count strategy: the snapshot from the `total`s and first rows of filtered, ordered
 * `event.offline.list` commands packed into `batch` requests. Its cost does not grow with the
 * queue: 24 + 3 × event names commands (+ `event.get`), at most 50 to a request, so up to 16
 * event names take 2 requests.
 *
 * - queued and error rows of a name: `total` of {EVENT_NAME, =PROCESS_ID "", =ERROR 0|1},
 *   ordered by TIMESTAMP_X so that the first row is the oldest;
 * - reserved rows of a name: {EVENT_NAME, >PROCESS_ID ""} (every non-empty id is greater
 *   than ""), ordered the same way. `!` filters are refused, so the documented way to count
 *   reserved rows is a difference of totals: the queue's reserved rows are
 *   depth − queued − error, and when the names' `>PROCESS_ID` totals do not add up to that,
 *   the names' totals are asked for and their reserved rows taken as differences too;
 * - rows older than each age: totals with `<TIMESTAMP_X`, reserved by difference;
 * - rows of names neither bound nor known (left after an `event.unbind`) show up as a
 *   shortfall against the queue's totals; they are found with a keyset walk over EVENT_NAME.
 * Every command sends `start: 0` (see `listParams`): `-1` may turn `total` off.
 */
import { BadResponseError } from '../b24/errors.js';
import type { BatchCommand, CallAnswer, CallOptions, Params } from '../b24/types.js';
import { runCommands } from './commands.js';
import { parseOfflineEventNames, parseRows, parseTimestamp, parseTotal } from './rows.js';
import { callOptions, listParams, type ScanInput } from './scan.js';
import { AGE_THRESHOLDS, SnapshotBuilder, type QueueSnapshot } from './snapshot.js';

const BY_ID = { ID: 'ASC' } as const;
const BY_TIME = { TIMESTAMP_X: 'ASC' } as const;
const QUEUED = { '=PROCESS_ID': '', '=ERROR': 0 } as const;
const FAILED = { '=PROCESS_ID': '', '=ERROR': 1 } as const;
const RESERVED = { '>PROCESS_ID': '' } as const;

type Answers = Record<string, CallAnswer>;

/** `<TIMESTAMP_X` values: ISO 8601 in UTC, which the portal converts to its own zone. */
function isoSeconds(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', '+00:00');
}

// `_input`: kept so the call sites stay as they are (auth_connector left the command).
function list(_input: ScanInput, filter: Params, order: Params): BatchCommand {
  return { method: 'event.offline.list', params: listParams(filter, order) };
}

/** Commands of one event name, keyed `<kind>:<name>`. */
function nameCommands(input: ScanInput, names: readonly string[]): Record<string, BatchCommand> {
  const commands: Record<string, BatchCommand> = {};
  for (const name of names) {
    const byName = { '=EVENT_NAME': name };
    commands[`queued:${name}`] = list(input, { ...byName, ...QUEUED }, BY_TIME);
    commands[`error:${name}`] = list(input, { ...byName, ...FAILED }, BY_TIME);
    commands[`reserved:${name}`] = list(input, { ...byName, ...RESERVED }, BY_TIME);
  }
  return commands;
}

function queueCommands(input: ScanInput): Record<string, BatchCommand> {
  const commands: Record<string, BatchCommand> = {
    depth: list(input, {}, BY_ID),
    queued: list(input, QUEUED, BY_ID),
    error: list(input, FAILED, BY_ID),
  };
  for (const age of AGE_THRESHOLDS) {
    const older = { '<TIMESTAMP_X': isoSeconds(input.takenAt - age) };
    commands[`older_all_${age}`] = list(input, older, BY_ID);
    commands[`older_queued_${age}`] = list(input, { ...older, ...QUEUED }, BY_ID);
    commands[`older_error_${age}`] = list(input, { ...older, ...FAILED }, BY_ID);
  }
  return commands;
}

function answer(answers: Answers, key: string): CallAnswer {
  const found = answers[key];
  if (found === undefined) throw new BadResponseError('batch', `no answer for command ${key}`);
  return found;
}

function total(answers: Answers, key: string): number {
  return parseTotal(answer(answers, key).total);
}

function firstTimestamp(page: CallAnswer): number | null {
  const row = parseRows(page.result)[0];
  return row === undefined ? null : parseTimestamp(row.TIMESTAMP_X);
}

function difference(all: number, ...parts: number[]): number {
  // The queue may change between two commands of one batch; a count is never negative.
  return Math.max(
    0,
    parts.reduce((rest, part) => rest - part, all),
  );
}

function sum(names: readonly string[], answers: Answers, kind: string): number {
  return names.reduce((acc, name) => acc + total(answers, `${kind}:${name}`), 0);
}

/**
 * Counts the queue. `boundEventNames` come from an `event.get` already made this poll;
 * without them, `event.get` is asked in the first batch.
 */
export async function countQueue(
  input: ScanInput,
  boundEventNames?: readonly string[],
): Promise<QueueSnapshot> {
  const options = callOptions(input);
  const known = [...new Set<string>([...input.knownEventNames, ...(boundEventNames ?? [])])];
  const commands: Record<string, BatchCommand> = {};
  if (boundEventNames === undefined) commands['handlers'] = { method: 'event.get', params: {} };
  Object.assign(commands, queueCommands(input), nameCommands(input, known));
  const answers = await runCommands(input.client, commands, options);
  let names = known;

  // Names bound since the last poll are counted in one more batch; names only the queue
  // knows show as a shortfall against the queue's totals, and are found and counted too.
  const depth = total(answers, 'depth');
  const queued = total(answers, 'queued');
  const failed = total(answers, 'error');
  const reserved = difference(depth, queued, failed);
  const addNames = async (more: readonly string[]) => {
    if (more.length === 0) return;
    Object.assign(answers, await runCommands(input.client, nameCommands(input, more), options));
    names = [...names, ...more];
  };
  if (boundEventNames === undefined) {
    await addNames(
      parseOfflineEventNames(answer(answers, 'handlers').result, input.authConnector).filter(
        (n) => !names.includes(n),
      ),
    );
  }
  if (
    sum(names, answers, 'queued') < queued ||
    sum(names, answers, 'error') < failed ||
    sum(names, answers, 'reserved') < reserved
  ) {
    await addNames(await discoverNames(input, new Set(names), options));
  }

  // The documented count of reserved rows is a difference of totals: when the names'
  // `>PROCESS_ID` totals disagree with it, each name's reserved rows are taken that way.
  const byDifference = sum(names, answers, 'reserved') !== reserved;
  if (byDifference) {
    const totals: Record<string, BatchCommand> = {};
    for (const name of names) totals[`all:${name}`] = list(input, { '=EVENT_NAME': name }, BY_ID);
    Object.assign(answers, await runCommands(input.client, totals, options));
  }

  const builder = new SnapshotBuilder(input.takenAt, names);
  for (const name of names) {
    const queuedPage = answer(answers, `queued:${name}`);
    const errorPage = answer(answers, `error:${name}`);
    const reservedPage = answer(answers, `reserved:${name}`);
    const nameQueued = parseTotal(queuedPage.total);
    const nameFailed = parseTotal(errorPage.total);
    const nameReserved = byDifference
      ? difference(total(answers, `all:${name}`), nameQueued, nameFailed)
      : parseTotal(reservedPage.total);
    builder.setGroup(name, 'queued', nameQueued, firstTimestamp(queuedPage));
    builder.setGroup(name, 'error', nameFailed, firstTimestamp(errorPage));
    builder.setGroup(
      name,
      'reserved',
      nameReserved,
      nameReserved > 0 ? firstTimestamp(reservedPage) : null,
    );
  }
  for (const age of AGE_THRESHOLDS) {
    const all = total(answers, `older_all_${age}`);
    const olderQueued = total(answers, `older_queued_${age}`);
    const olderFailed = total(answers, `older_error_${age}`);
    builder.setOlderThan('queued', age, olderQueued);
    builder.setOlderThan('error', age, olderFailed);
    builder.setOlderThan('reserved', age, difference(all, olderQueued, olderFailed));
  }
  return builder.finish(depth);
}

/** Event names in the queue that are not in `known`: a keyset walk over EVENT_NAME. */
async function discoverNames(
  input: ScanInput,
  known: ReadonlySet<string>,
  options: CallOptions,
): Promise<string[]> {
  const found: string[] = [];
  let after = '';
  for (;;) {
    const page = await input.client.call(
      'event.offline.list',
      listParams(after === '' ? {} : { '>EVENT_NAME': after }, { EVENT_NAME: 'ASC' }),
      options,
    );
    const rows = parseRows(page.result);
    if (rows.length === 0) return found;
    const last = rows[rows.length - 1]?.EVENT_NAME ?? '';
    for (const row of rows) {
      if (!known.has(row.EVENT_NAME) && !found.includes(row.EVENT_NAME)) found.push(row.EVENT_NAME);
    }
    if (last <= after) {
      throw new BadResponseError(
        'event.offline.list',
        'rows are not in ascending EVENT_NAME order',
      );
    }
    after = last;
  }
}

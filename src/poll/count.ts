/**
 * The count strategy: the snapshot from the `total`s and first rows of filtered, ordered
 * `event.offline.list` commands packed into `batch` requests. Its cost does not grow with the
 * queue: 1 + 4 × event names + 3 × age thresholds commands, at most 50 to a request.
 *
 * - counts: `total` of {EVENT_NAME, =PROCESS_ID "", ERROR} for queued and error; reserved is
 *   the difference from the name's total, since `!` filters are refused;
 * - oldest: the first row when ordered by TIMESTAMP_X ascending (reserved rows are selected
 *   with `>PROCESS_ID ""`, a plain string comparison: every non-empty id is greater);
 * - rows older than each age: totals with `<TIMESTAMP_X`, reserved again by difference;
 * - count-only commands ask for an offset past any queue, so they carry no rows: the
 *   portal computes `total` without the offset.
 * Rows whose event name is neither bound nor known (left over after an `event.unbind`) show
 * up as a difference between the depth and the names' totals; they are then found with a
 * keyset walk over EVENT_NAME and counted in one more batch.
 */
import { BadResponseError } from '../b24/errors.js';
import type { BatchCommand, CallAnswer, CallOptions, Params } from '../b24/types.js';
import { runCommands } from './commands.js';
import { parseOfflineEventNames, parseRows, parseTimestamp, parseTotal } from './rows.js';
import { callOptions, listParams, type ScanInput } from './scan.js';
import { AGE_THRESHOLDS, SnapshotBuilder, type QueueSnapshot } from './snapshot.js';

/** An offset no queue reaches: the answer holds `total` and no rows. */
const COUNT_ONLY_START = 1_000_000_000;
const BY_TIME = { TIMESTAMP_X: 'ASC' } as const;
const QUEUED = { '=PROCESS_ID': '', '=ERROR': 0 } as const;
const FAILED = { '=PROCESS_ID': '', '=ERROR': 1 } as const;

/** `<TIMESTAMP_X` values: ISO 8601 in UTC, which the portal converts to its own zone. */
export function isoSeconds(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', '+00:00');
}

function list(input: ScanInput, filter: Params, order: Params, countOnly: boolean): BatchCommand {
  const params = listParams(filter, input.authConnector, order);
  return {
    method: 'event.offline.list',
    params: countOnly ? { ...params, start: COUNT_ONLY_START } : params,
  };
}

function nameCommands(input: ScanInput, names: readonly string[]): Record<string, BatchCommand> {
  const commands: Record<string, BatchCommand> = {};
  names.forEach((name, i) => {
    const byName = { '=EVENT_NAME': name };
    commands[`all_${i}`] = list(input, byName, { ID: 'ASC' }, true);
    commands[`queued_${i}`] = list(input, { ...byName, ...QUEUED }, BY_TIME, false);
    commands[`error_${i}`] = list(input, { ...byName, ...FAILED }, BY_TIME, false);
    commands[`reserved_${i}`] = list(input, { ...byName, '>PROCESS_ID': '' }, BY_TIME, false);
  });
  return commands;
}

function queueCommands(input: ScanInput): Record<string, BatchCommand> {
  const commands: Record<string, BatchCommand> = { depth: list(input, {}, { ID: 'ASC' }, true) };
  for (const age of AGE_THRESHOLDS) {
    const older = { '<TIMESTAMP_X': isoSeconds(input.takenAt - age) };
    commands[`older_all_${age}`] = list(input, older, { ID: 'ASC' }, true);
    commands[`older_queued_${age}`] = list(input, { ...older, ...QUEUED }, { ID: 'ASC' }, true);
    commands[`older_error_${age}`] = list(input, { ...older, ...FAILED }, { ID: 'ASC' }, true);
  }
  return commands;
}

function answer(answers: Record<string, CallAnswer>, key: string): CallAnswer {
  const found = answers[key];
  if (found === undefined) throw new BadResponseError('batch', `no answer for command ${key}`);
  return found;
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

/**
 * Counts the queue. `boundEventNames` come from an `event.get` already made this poll;
 * without them, `event.get` is asked in the first batch.
 */
export async function countQueue(
  input: ScanInput,
  boundEventNames?: readonly string[],
): Promise<QueueSnapshot> {
  const options = callOptions(input);
  const known = new Set<string>([...input.knownEventNames, ...(boundEventNames ?? [])]);
  const commands: Record<string, BatchCommand> = {};
  if (boundEventNames === undefined) commands['handlers'] = { method: 'event.get', params: {} };
  Object.assign(commands, queueCommands(input));
  let names = [...known];
  Object.assign(commands, nameCommands(input, names));
  const answers = await runCommands(input.client, commands, options);

  if (boundEventNames === undefined) {
    const fresh = parseOfflineEventNames(answer(answers, 'handlers').result).filter(
      (n) => !known.has(n),
    );
    if (fresh.length > 0) {
      Object.assign(
        answers,
        prefixed(
          await runCommands(input.client, nameCommands(input, fresh), options),
          names.length,
        ),
      );
      names = [...names, ...fresh];
    }
  }

  const depth = parseTotal(answer(answers, 'depth').total);
  const counted = names.reduce(
    (sum, _, i) => sum + parseTotal(answer(answers, `all_${i}`).total),
    0,
  );
  if (counted < depth) {
    const unknown = await discoverNames(input, new Set(names), options);
    if (unknown.length > 0) {
      const more = await runCommands(input.client, nameCommands(input, unknown), options);
      Object.assign(answers, prefixed(more, names.length));
      names = [...names, ...unknown];
    }
  }

  const builder = new SnapshotBuilder(input.takenAt, names);
  names.forEach((name, i) => {
    const all = parseTotal(answer(answers, `all_${i}`).total);
    const queuedPage = answer(answers, `queued_${i}`);
    const errorPage = answer(answers, `error_${i}`);
    const queued = parseTotal(queuedPage.total);
    const failed = parseTotal(errorPage.total);
    const reserved = difference(all, queued, failed);
    builder.setGroup(name, 'queued', queued, firstTimestamp(queuedPage));
    builder.setGroup(name, 'error', failed, firstTimestamp(errorPage));
    builder.setGroup(
      name,
      'reserved',
      reserved,
      reserved > 0 ? firstTimestamp(answer(answers, `reserved_${i}`)) : null,
    );
  });
  for (const age of AGE_THRESHOLDS) {
    const all = parseTotal(answer(answers, `older_all_${age}`).total);
    const queued = parseTotal(answer(answers, `older_queued_${age}`).total);
    const failed = parseTotal(answer(answers, `older_error_${age}`).total);
    builder.setOlderThan('queued', age, queued);
    builder.setOlderThan('error', age, failed);
    builder.setOlderThan('reserved', age, difference(all, queued, failed));
  }
  return builder.finish(depth);
}

/** Renames `all_0`… of a follow-up batch so they follow the names already counted. */
function prefixed(answers: Record<string, CallAnswer>, offset: number): Record<string, CallAnswer> {
  const renamed: Record<string, CallAnswer> = {};
  for (const [key, value] of Object.entries(answers)) {
    renamed[key.replace(/_(\d+)$/, (_, i: string) => `_${Number(i) + offset}`)] = value;
  }
  return renamed;
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
      listParams(after === '' ? {} : { '>EVENT_NAME': after }, input.authConnector, {
        EVENT_NAME: 'ASC',
      }),
      options,
    );
    const rows = parseRows(page.result);
    if (rows.length === 0) return found;
    const last = rows[rows.length - 1]?.EVENT_NAME ?? '';
    for (const row of rows) {
      if (!known.has(row.EVENT_NAME) && !found.includes(row.EVENT_NAME)) found.push(row.EVENT_NAME);
    }
    if (last <= after)
      throw new BadResponseError(
        'event.offline.list',
        'rows are not in ascending EVENT_NAME order',
      );
    after = last;
  }
}

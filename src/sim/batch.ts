/**
 * `batch`: up to 50 commands (each one past them fails with ERROR_BATCH_LENGTH_EXCEEDED), each a `"method?query"` string parsed with PHP's `parse_str`
 * (see phpQuery.ts for the unencoded-key trap), run one after the other with the batch's own
 * token. The answer groups results by command name in `result`, `result_error`,
 * `result_total`, `result_next` and `result_time`; an empty group is `[]` and a group keyed
 * 0..n-1 is a list, as PHP's `json_encode` writes arrays.
 */
import type { SimApiError } from './errors.js';
import { apiErrors } from './errors.js';
import type { MethodOutput } from './methods.js';
import { entriesOf, phpInt, phpString } from './params.js';
import type { PhpArray } from './phpQuery.js';
import { parseBatchCommand } from './phpQuery.js';

/**
 * The server's own limit, kept apart from the client's `MAX_BATCH_COMMANDS` (src/b24/allowList.ts)
 * on purpose: the simulated portal models the server, so the client's limit is checked against
 * it rather than shared with it.
 */
const BATCH_MAX_COMMANDS = 50;

export type CommandOutcome =
  | { readonly ok: true; readonly output: MethodOutput; readonly time: unknown }
  | { readonly ok: false; readonly error: SimApiError };

/** Runs one command (method lower-cased, `.json` stripped by the caller's rules). */
export type CommandRunner = (
  method: string,
  params: PhpArray,
) => CommandOutcome | Promise<CommandOutcome>;

/** A PHP array as `json_encode` writes it: a list when keyed 0..n-1 (or empty), else an object. */
export function phpArrayJson(entries: readonly (readonly [string, unknown])[]): unknown {
  if (entries.every(([key], index) => key === String(index)))
    return entries.map(([, value]) => value);
  return Object.fromEntries(entries);
}

async function runCommand(command: unknown, run: CommandRunner): Promise<CommandOutcome> {
  const { method, params } = parseBatchCommand(phpString(command));
  return run(method, params);
}

/** Commands run one after another, as on the server (a batch takes the sum of their times). */
export async function runBatch(
  params: Readonly<Record<string, unknown>>,
  run: CommandRunner,
): Promise<MethodOutput> {
  const commands = entriesOf(params['cmd']);
  const halt = phpInt(params['halt']) !== 0;
  const result: [string, unknown][] = [];
  const errors: [string, unknown][] = [];
  const totals: [string, unknown][] = [];
  const nexts: [string, unknown][] = [];
  const times: [string, unknown][] = [];
  for (const [index, [name, command]] of commands.entries()) {
    // Only the first 50 run; each one past them fails on its own.
    const outcome: CommandOutcome =
      index < BATCH_MAX_COMMANDS
        ? await runCommand(command, run)
        : { ok: false, error: apiErrors.batchLength() };
    if (!outcome.ok) {
      errors.push([name, outcome.error.toJSON()]);
      if (halt) break;
      continue;
    }
    result.push([name, outcome.output.result]);
    if (outcome.output.total !== undefined) totals.push([name, outcome.output.total]);
    if (outcome.output.next !== undefined) nexts.push([name, outcome.output.next]);
    times.push([name, outcome.time]);
  }
  return {
    result: {
      result: phpArrayJson(result),
      result_error: phpArrayJson(errors),
      result_total: phpArrayJson(totals),
      result_next: phpArrayJson(nexts),
      result_time: phpArrayJson(times),
    },
  };
}

/**
 * Runs named read-only commands in one `batch` request, falling back to single calls for the
 * commands the portal refuses inside a batch (`ERROR_BATCH_METHOD_NOT_ALLOWED`). Commands
 * refused for their method's operating time (`OPERATION_TIME_LIMIT`, per command inside a
 * batch) are sent once more after the reset, when the reset comes before the deadline.
 */
import { MAX_BATCH_COMMANDS } from '../b24/allowList.js';
import { sleep } from '../b24/clock.js';
import { ApiError, BadResponseError } from '../b24/errors.js';
import { reasonFor } from '../b24/errorReasons.js';
import type { BatchCommand, CallAnswer, CallOptions, RestClient } from '../b24/types.js';

export async function runCommands(
  client: RestClient,
  commands: Readonly<Record<string, BatchCommand>>,
  options: CallOptions,
): Promise<Record<string, CallAnswer>> {
  const names = Object.keys(commands);
  const answers: Record<string, CallAnswer> = {};
  for (let i = 0; i < names.length; i += MAX_BATCH_COMMANDS) {
    const chunk: Record<string, BatchCommand> = {};
    for (const name of names.slice(i, i + MAX_BATCH_COMMANDS))
      chunk[name] = commands[name] as BatchCommand;
    Object.assign(answers, await runChunk(client, chunk, options));
  }
  return answers;
}

/** A reset later than this before the deadline leaves too little time to use it. */
const AFTER_RESET_MS = 1000;

/** Whether a wait for `resetAt` (Unix s) still leaves the commands time before `deadline`. */
function canWait(resetAt: number | undefined, deadline: number | undefined): resetAt is number {
  return (
    resetAt !== undefined && deadline !== undefined && resetAt * 1000 + AFTER_RESET_MS < deadline
  );
}

async function runChunk(
  client: RestClient,
  commands: Record<string, BatchCommand>,
  options: CallOptions,
  mayWait = true,
): Promise<Record<string, CallAnswer>> {
  const batch = await client.batch(commands, options);
  const answers: Record<string, CallAnswer> = {};
  const limited: Record<string, BatchCommand> = {};
  let resetAt = 0;
  for (const [name, command] of Object.entries(commands)) {
    const error = batch.resultError[name];
    if (error !== undefined) {
      if (
        error.error === 'OPERATION_TIME_LIMIT' &&
        mayWait &&
        canWait(error.operatingResetAt, options.deadline)
      ) {
        limited[name] = command;
        resetAt = Math.max(resetAt, error.operatingResetAt);
        continue;
      }
      if (error.error !== 'ERROR_BATCH_METHOD_NOT_ALLOWED') {
        // The batch itself was answered 200; the command's own error decides the reason.
        throw new ApiError(
          command.method,
          200,
          error.error,
          error.error_description ?? '',
          reasonFor(error.error, 200),
          { operatingResetAt: error.operatingResetAt },
        );
      }
      answers[name] = await client.call(command.method, command.params, options);
      continue;
    }
    if (!(name in batch.result)) {
      throw new BadResponseError('batch', `no result for command ${name}`);
    }
    const total = batch.resultTotal[name];
    const next = batch.resultNext[name];
    const time = batch.resultTime[name];
    answers[name] = {
      result: batch.result[name],
      ...(total === undefined ? {} : { total }),
      ...(next === undefined ? {} : { next }),
      ...(time === undefined ? {} : { time }),
    };
  }
  if (Object.keys(limited).length > 0) {
    await sleep(Math.max(0, resetAt * 1000 + AFTER_RESET_MS - Date.now()), options.signal);
    Object.assign(answers, await runChunk(client, limited, options, false));
  }
  return answers;
}

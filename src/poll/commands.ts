/**
 * Runs named read-only commands in one `batch` request, falling back to single calls for the
 * commands the portal refuses inside a batch (`ERROR_BATCH_METHOD_NOT_ALLOWED`).
 */
import { ApiError, type FailureReason } from '../b24/errors.js';
import type { BatchCommand, CallAnswer, CallOptions, RestClient } from '../b24/types.js';

/** The most commands one `batch` request may hold. */
export const BATCH_LIMIT = 50;

export function reasonForApiCode(code: string): FailureReason {
  switch (code) {
    case 'QUERY_LIMIT_EXCEEDED':
    case 'OVERLOAD_LIMIT':
      return 'rate_limit';
    case 'OPERATION_TIME_LIMIT':
      return 'operating_limit';
    case 'expired_token':
    case 'invalid_token':
    case 'NO_AUTH_FOUND':
    case 'ACCESS_DENIED':
    case 'WRONG_AUTH_TYPE':
    case 'INVALID_CREDENTIALS':
    case 'insufficient_scope':
    case 'user_access_error':
      return 'auth';
    default:
      return 'api_error';
  }
}

export async function runCommands(
  client: RestClient,
  commands: Readonly<Record<string, BatchCommand>>,
  options: CallOptions,
): Promise<Record<string, CallAnswer>> {
  const names = Object.keys(commands);
  const answers: Record<string, CallAnswer> = {};
  for (let i = 0; i < names.length; i += BATCH_LIMIT) {
    const chunk: Record<string, BatchCommand> = {};
    for (const name of names.slice(i, i + BATCH_LIMIT))
      chunk[name] = commands[name] as BatchCommand;
    Object.assign(answers, await runChunk(client, chunk, options));
  }
  return answers;
}

async function runChunk(
  client: RestClient,
  commands: Record<string, BatchCommand>,
  options: CallOptions,
): Promise<Record<string, CallAnswer>> {
  const batch = await client.batch(commands, options);
  const answers: Record<string, CallAnswer> = {};
  for (const [name, command] of Object.entries(commands)) {
    const error = batch.resultError[name];
    if (error !== undefined) {
      if (error.error !== 'ERROR_BATCH_METHOD_NOT_ALLOWED') {
        throw new ApiError(
          command.method,
          400,
          error.error,
          error.error_description ?? '',
          reasonForApiCode(error.error),
        );
      }
      answers[name] = await client.call(command.method, command.params, options);
      continue;
    }
    if (!(name in batch.result)) {
      throw new ApiError(
        'batch',
        200,
        'MISSING_RESULT',
        `no result for command ${name}`,
        'bad_response',
      );
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
  return answers;
}

/**
 * The `batch` call: up to 50 read-only commands in one HTTP request (`halt=0`), each encoded as
 * `method?query`, and the envelope of their answers taken apart per command: results, errors
 * (redacted, with the reset of their method for operating-time refusals), totals, times.
 */
import { assertBatchable, assertBatchLength } from './allowList.js';
import { type OperatingResets, parseAnswer } from './answers.js';
import { buildQuery } from '../php/buildQuery.js';
import { redact } from './redact.js';
import { BatchEnvelope } from './schemas.js';
import type { Send } from './send.js';
import { repeatableApiCode } from './errorReasons.js';
import type { BatchAnswer, BatchCommand, CallOptions, ClientObserver } from './types.js';

export interface BatchDeps {
  readonly send: Send;
  readonly resets: OperatingResets;
  readonly observer: ClientObserver;
}

/** `cmd` of the request: each command as `method?query` (`method` alone without params). */
function encodeCommands(entries: readonly [string, BatchCommand][]): Record<string, string> {
  return Object.fromEntries(
    entries.map(([name, { method, params }]) => {
      const query = buildQuery(params);
      return [name, query === '' ? method : `${method}?${query}`];
    }),
  );
}

export async function runBatch(
  commands: Readonly<Record<string, BatchCommand>>,
  opts: CallOptions,
  { send, resets, observer }: BatchDeps,
): Promise<BatchAnswer> {
  const entries = Object.entries(commands);
  assertBatchLength(entries.length);
  for (const [, command] of entries) assertBatchable(command.method);
  if (entries.length === 0) {
    return { result: {}, resultError: {}, resultTotal: {}, resultNext: {}, resultTime: {} };
  }
  const sent = await send('batch', { cmd: encodeCommands(entries), halt: 0 }, opts);
  const envelope = parseAnswer(BatchEnvelope, sent, 'batch');
  resets.note('batch', envelope.time);
  if (envelope.time?.operating !== undefined) {
    observer.operating('batch', envelope.time.operating);
  }

  const { result, result_total, result_next, result_time } = envelope.result;
  // Each command counts toward its own method's operating time; report the highest figure
  // the answer gives per method (commands of one method report nearly the same).
  const operating = new Map<string, number>();
  for (const [name, time] of Object.entries(result_time)) {
    const method = commands[name]?.method;
    if (method === undefined) continue;
    resets.note(method, time);
    if (time.operating !== undefined) {
      operating.set(method, Math.max(operating.get(method) ?? 0, time.operating));
    }
  }
  // A command's error is text from the portal, quoted in messages and used as a metric
  // label: like a whole answer's error (answerOrError.ts), it may echo the token it was sent.
  const result_error = Object.fromEntries(
    Object.entries(envelope.result.result_error).map(([name, failure]) => {
      const code = repeatableApiCode(failure.error, [sent.token]);
      // A command refused for its operating time says nothing of the reset: the last good
      // answer of its method did.
      const reset =
        code === 'OPERATION_TIME_LIMIT' ? resets.of(commands[name]?.method ?? 'batch') : undefined;
      return [
        name,
        {
          ...failure,
          error: code,
          ...(failure.error_description === undefined
            ? {}
            : { error_description: redact(failure.error_description, [sent.token]) }),
          ...(reset === undefined ? {} : { operatingResetAt: reset }),
        },
      ];
    }),
  );
  for (const [method, seconds] of operating) observer.operating(method, seconds);
  for (const [name, failure] of Object.entries(result_error)) {
    observer.restError(commands[name]?.method ?? 'batch', failure.error);
  }
  return {
    result,
    resultError: result_error,
    resultTotal: result_total,
    resultNext: result_next,
    resultTime: result_time,
  };
}

/**
 * A REST answer decoded: its JSON object, or the ApiError (or BadResponseError) it stands for.
 */
import { z } from 'zod';
import { ApiError, BadResponseError } from './errors.js';
import { reasonFor, repeatableApiCode } from './errorReasons.js';
import type { JsonAnswer } from './httpExchange.js';
import { redact } from './redact.js';
import { ApiTime } from './schemas.js';

/** The error part of an answer. Bitrix24 sometimes sends a number as `error`. */
const ErrorAnswer = z
  .object({
    error: z.union([z.string().min(1), z.number()]).transform(String),
    error_description: z.string().optional().catch(undefined),
    time: ApiTime.optional().catch(undefined),
  })
  .loose();

const JsonObject = z.record(z.string(), z.unknown());

/**
 * Turns an answer into its JSON object or the ApiError it stands for: an `error` field wins
 * over the status; a non-2xx status without one is `HTTP_<status>`; a 2xx that is not a JSON
 * object is a BadResponseError.
 */
export function answerOrError(
  method: string,
  answer: JsonAnswer,
  secrets: readonly (string | undefined)[],
): Record<string, unknown> {
  const failed = ErrorAnswer.safeParse(answer.json);
  if (failed.success) {
    const { error: raw, error_description: description = '', time } = failed.data;
    const apiCode = repeatableApiCode(raw, secrets);
    throw new ApiError(
      method,
      answer.status,
      apiCode,
      redact(description, secrets),
      reasonFor(apiCode, answer.status),
      { operatingResetAt: time?.operating_reset_at },
    );
  }
  if (answer.status < 200 || answer.status > 299) {
    const apiCode = `HTTP_${answer.status}`;
    throw new ApiError(method, answer.status, apiCode, '', reasonFor(apiCode, answer.status));
  }
  if (answer.json === undefined) throw new BadResponseError(method, 'not JSON');
  const object = JsonObject.safeParse(answer.json);
  if (!object.success) throw new BadResponseError(method, 'not a JSON object');
  return object.data;
}

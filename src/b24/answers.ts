/**
 * What a portal's answer tells the client beyond its result: its shape (validated, errors
 * without the token), and when a method's operating time resets, remembered for the refusals
 * that do not say.
 */
import type { z } from 'zod';
import { ApiError, BadResponseError } from './errors.js';
import { redact } from './redact.js';
import type { ApiTime } from './schemas.js';

/** What one logical request brought back, and the access token it was sent with. */
export interface Sent {
  readonly json: unknown;
  readonly token: string;
}

/**
 * The answer validated by `schema`, or a BadResponseError naming where it went wrong. Paths
 * are built from the answer's own keys, which a portal may have filled with what it was sent:
 * the token is redacted from them.
 */
export function parseAnswer<T extends z.ZodType>(
  schema: T,
  { json, token }: Sent,
  method: string,
): z.output<T> {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const where = [
    ...new Set(parsed.error.issues.map((i) => redact(i.path.join('.'), [token]) || '(root)')),
  ];
  throw new BadResponseError(method, `unexpected shape at ${where.slice(0, 5).join(', ')}`);
}

/**
 * The last `operating_reset_at` seen per method. A refusal for operating time (a 429, or a
 * batch command's OPERATION_TIME_LIMIT) carries no `time`: the last good answer of its method
 * says when the portal's polls stop being pointless.
 */
export class OperatingResets {
  readonly #resetAt = new Map<string, number>();

  /** Remembers the reset an answer (or a batch command's answer) gave. */
  note(method: string, time: ApiTime | undefined): void {
    if (time?.operating_reset_at !== undefined) {
      this.#resetAt.set(method, time.operating_reset_at);
    }
  }

  /** Unix seconds of the method's next reset, if an answer gave one. */
  of(method: string): number | undefined {
    return this.#resetAt.get(method);
  }

  /** A 429 without a reset, given the one the last good answer of `method` gave. */
  withKnownReset(error: unknown, method: string): unknown {
    const known = this.#resetAt.get(method);
    if (
      !(error instanceof ApiError) ||
      error.reason !== 'operating_limit' ||
      error.operatingResetAt !== undefined ||
      known === undefined
    ) {
      return error;
    }
    return new ApiError(error.method, error.statusCode, error.apiCode, '', error.reason, {
      cause: error.cause,
      operatingResetAt: known,
    });
  }
}

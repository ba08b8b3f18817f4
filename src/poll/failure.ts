/** A failed poll: the error it is reported as, and its log line with the operator's advice. */
import type { Logger } from 'pino';
import { AbortedError, MonitorError, TimeoutError } from '../b24/errors.js';
import { adviceFor } from './advice.js';

/** The MonitorError a poll failed with: past its deadline a timeout, else typed as it came. */
export function pollError(
  caught: unknown,
  deadlinePassed: boolean,
  timeoutMs: number,
): MonitorError {
  if (deadlinePassed && (caught instanceof AbortedError || !(caught instanceof MonitorError))) {
    return new TimeoutError(`Poll did not finish within its deadline of ${timeoutMs} ms`, {
      cause: caught,
    });
  }
  if (caught instanceof MonitorError) return caught;
  const message = caught instanceof Error ? caught.message : String(caught);
  return new MonitorError(
    'B24_INTERNAL',
    'bad_response',
    `Unexpected error while polling: ${message}`,
    {
      cause: caught,
    },
  );
}

export function logFailure(
  logger: Logger,
  error: MonitorError,
  details: { durationMs: number; requests: number; pausedUntil: number; operatingUntil: number },
): void {
  const advice = adviceFor(error);
  const fields: Record<string, unknown> = {
    reason: error.reason,
    code: error.code,
    error: error.message,
    durationMs: details.durationMs,
    requests: details.requests,
    reauthorize: advice.reauthorize,
  };
  if ('apiCode' in error && typeof error.apiCode === 'string') fields['apiCode'] = error.apiCode;
  if (fields['apiCode'] === 'OVERLOAD_LIMIT') {
    fields['pausedUntil'] = new Date(details.pausedUntil).toISOString();
  }
  if (error.reason === 'operating_limit') {
    fields['operatingUntil'] = new Date(details.operatingUntil).toISOString();
  }
  logger[advice.level](fields, advice.message);
}

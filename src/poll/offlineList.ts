/**
 * The `event.offline.list` command as both strategies send it: the input of one read of the
 * queue, a command's parameters, its page size and the call options of a poll.
 */
import type { CallOptions, Params, RestClient } from '../b24/types.js';

export const PAGE_SIZE = 50;

export interface ScanInput {
  readonly client: RestClient;
  /** Unix seconds the ages are measured from. */
  readonly takenAt: number;
  /** Names to count even without rows: at most `maxEventNames` (see eventNames.ts). */
  readonly knownEventNames: Iterable<string>;
  /** The portal's cap of names with series of their own; beyond it rows count as `other`. */
  readonly maxEventNames?: number | undefined;
  /**
   * The watched connector: only offline handlers bound for it name events of this queue. The
   * REST client, not the commands, sends it to the portal.
   */
  readonly authConnector?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Unix ms by which the poll must end: retries that would wait past it are not started. */
  readonly deadline?: number | undefined;
}

/**
 * Parameters of one `event.offline.list` command. `start: 0`, never `-1`: the documented rule
 * of list methods is that `-1` turns `total` off. `auth_connector` is not here: the portal
 * reads it from the top level of the HTTP request only, where the REST client puts it.
 */
export function listParams(filter: Params, order: Params = { ID: 'ASC' }): Params {
  return { filter, order, start: 0 };
}

/** A poll's calls: a timeout is not retried (a busy server would get the same work twice). */
export function callOptions(input: ScanInput): CallOptions {
  return {
    retryTimeouts: false,
    ...(input.signal === undefined ? {} : { signal: input.signal }),
    ...(input.deadline === undefined ? {} : { deadline: input.deadline }),
  };
}

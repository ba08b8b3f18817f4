/**
 * A REST client whose answers report the database time the real table would cost (the
 * in-memory portal answers in microseconds): a command costs its share of one 0.3-s COUNT(*)
 * over the queue by the rows its best index reaches, as EXPLAIN shows it on MariaDB.
 */
import { TimeoutError } from '../../src/b24/errors.js';
import type { BatchCommand, RestClient } from '../../src/b24/types.js';

/** One COUNT(*) over the whole queue, as MariaDB takes it at 1M rows. */
export const COUNT_SECONDS = 0.3;

export interface Costed {
  /** Processing seconds reported per HTTP request, in order. */
  readonly requests: number[];
  /** The command keys of each batch, in order. */
  readonly batches: string[][];
  client: RestClient;
}

/** Rewrites `processing` as the cost model says, from the queue's sizes. */
export function costed(
  client: RestClient,
  size: { rows: number; reserved: number },
  options: { timeOutBatch?: (n: number) => boolean } = {},
  timestamps: () => readonly number[] = () => [],
): Costed {
  /** Rows in a TIMESTAMP_X range (Unix seconds), when the filter bounds one. */
  let ts: readonly number[] = [];
  const inRange = (filter: Record<string, unknown>): number | null => {
    const at = (value: unknown) => Date.parse(String(value)) / 1000;
    if ('>=TIMESTAMP_X' in filter) return ts.filter((t) => t >= at(filter['>=TIMESTAMP_X'])).length;
    if ('<TIMESTAMP_X' in filter) return ts.filter((t) => t < at(filter['<TIMESTAMP_X'])).length;
    return null;
  };
  const requests: number[] = [];
  const cost = (command: BatchCommand): number => {
    if (command.method !== 'event.offline.list') return 0.001;
    const filter = (command.params['filter'] ?? {}) as Record<string, unknown>;
    // MariaDB: `>PROCESS_ID ""` is a range of its index; `=PROCESS_ID ""` (IS NULL OR = '')
    // matches most rows and reads the table, as does any filter on EVENT_NAME or ERROR; a
    // TIMESTAMP_X bound holding at most 5 % of the rows is a range of its index, its rows
    // read; a wider one is read as if absent.
    const byIndex = '>PROCESS_ID' in filter ? size.reserved : size.rows;
    const range = inRange(filter);
    const rows = range !== null && range <= 0.05 * size.rows ? Math.min(range, byIndex) : byIndex;
    return (COUNT_SECONDS * Math.max(50, rows)) / size.rows;
  };
  let batches = 0;
  const keys: string[][] = [];
  return {
    requests,
    batches: keys,
    client: {
      async call(method, params, callOptions) {
        const answer = await client.call(method, params, callOptions);
        ts = timestamps();
        const seconds = cost({ method: method as BatchCommand['method'], params });
        requests.push(seconds);
        return { ...answer, time: { ...answer.time, processing: seconds } };
      },
      async batch(commands, callOptions) {
        batches += 1;
        keys.push(Object.keys(commands));
        if (options.timeOutBatch?.(batches) === true) {
          throw new TimeoutError('no complete answer within the request timeout');
        }
        const answer = await client.batch(commands, callOptions);
        ts = timestamps(); // once per request: the queue does not change within one here
        const resultTime = { ...answer.resultTime };
        let sum = 0;
        for (const [name, command] of Object.entries(commands)) {
          const seconds = cost(command);
          sum += seconds;
          resultTime[name] = { ...resultTime[name], processing: seconds };
        }
        requests.push(sum);
        return { ...answer, resultTime };
      },
    },
  };
}

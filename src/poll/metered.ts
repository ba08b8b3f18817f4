/**
 * What the monitor costs the portal: the server time (`time.processing`) each answer reports,
 * per command for a `batch` (its `result_time`), attributed to the command's own method, since
 * that is whose operating time it uses. A wrapper, so the REST client stays as it is.
 */
import type { ApiTime } from '../b24/schemas.js';
import type { RestClient } from '../b24/types.js';

export type ProcessingSink = (method: string, seconds: number) => void;

function seconds(time: ApiTime | undefined): number {
  const value = time?.processing;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/** `client`, telling `sink` the server time of every answer it gets. */
export function meteredClient(client: RestClient, sink: ProcessingSink): RestClient {
  return {
    async call(method, params, options) {
      const answer = await client.call(method, params, options);
      sink(method, seconds(answer.time));
      return answer;
    },
    async batch(commands, options) {
      const answer = await client.batch(commands, options);
      const byMethod = new Map<string, number>();
      for (const [name, time] of Object.entries(answer.resultTime)) {
        const method = commands[name]?.method ?? 'batch';
        byMethod.set(method, (byMethod.get(method) ?? 0) + seconds(time));
      }
      for (const [method, total] of byMethod) sink(method, total);
      return answer;
    },
  };
}

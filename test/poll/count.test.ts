/**
 * The count strategy on a portal whose `>PROCESS_ID ""` filter does not select the reserved
 * rows (the inferred behaviour it prefers): it notices the totals do not add up and counts
 * the reserved rows the documented way, as differences of totals.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalClient } from '../../src/b24/portalClient.js';
import type { BatchCommand, RestClient } from '../../src/b24/types.js';
import { loadConfig } from '../../src/config/load.js';
import { countQueue } from '../../src/poll/count.js';
import { SimServer, type SimPortal } from '../../src/sim/index.js';
import { captureLogger } from '../helpers/logs.js';
import { portalEnv } from '../helpers/env.js';

let sim: SimServer;
let portal: SimPortal;
let dir: string;
const dispatcher = new Agent({ keepAliveTimeout: 10 });

beforeAll(async () => {
  sim = await SimServer.start();
  portal = sim.addPortal('p', { rateLimit: null, events: ['ONCRMLEADADD', 'ONCRMDEALADD'] });
  dir = await mkdtemp(join(tmpdir(), 'b24-count-'));
});
afterAll(async () => {
  await dispatcher.close();
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

/** The real client, except that `>PROCESS_ID` filters match nothing. */
function withBrokenReservedFilter(client: RestClient): RestClient {
  const rewrite = (command: BatchCommand): BatchCommand => {
    const filter = command.params['filter'] as Record<string, unknown> | undefined;
    if (filter === undefined || !('>PROCESS_ID' in filter)) return command;
    const rest = Object.fromEntries(
      Object.entries(filter).filter(([key]) => key !== '>PROCESS_ID'),
    );
    return {
      ...command,
      params: { ...command.params, filter: { ...rest, '=PROCESS_ID': 'no-such-process' } },
    };
  };
  return {
    call: (method, params, options) => client.call(method, params, options),
    batch: (commands, options) =>
      client.batch(
        Object.fromEntries(Object.entries(commands).map(([k, c]) => [k, rewrite(c)])),
        options,
      ),
  };
}

describe('countQueue', () => {
  it('counts reserved rows as differences of totals when the >PROCESS_ID totals do not add up', async () => {
    portal.fill({
      counts: {
        ONCRMLEADADD: { queued: 30, reserved: 12, error: 4 },
        ONCRMDEALADD: { reserved: 5 },
      },
    });
    const { accessToken, refreshToken } = portal.authorize('monitor');
    const loaded = loadConfig({
      env: {
        ...portalEnv(sim, portal, { refreshToken, accessToken, tokenFile: join(dir, 't.json') }),
      },
    });
    if (!loaded.ok) throw new Error('config');
    const { client } = createPortalClient(loaded.config.portals[0]!, {
      observer: { request: () => {}, restError: () => {}, operating: () => {}, refresh: () => {} },
      logger: captureLogger().logger,
      dispatcher,
    });
    const takenAt = Math.floor(Date.now() / 1000);

    const snapshot = await countQueue({
      client: withBrokenReservedFilter(client),
      takenAt,
      knownEventNames: [],
    });

    const truth = portal.truth(takenAt);
    expect(snapshot.depth).toBe(51);
    for (const name of ['ONCRMLEADADD', 'ONCRMDEALADD']) {
      const got = snapshot.groups.get(name);
      const want = truth.groups.get(name);
      expect([got?.queued.count, got?.reserved.count, got?.error.count]).toEqual([
        want?.queued.count,
        want?.reserved.count,
        want?.error.count,
      ]);
    }
    expect(snapshot.groups.get('ONCRMLEADADD')?.reserved.count).toBe(12);
    expect(snapshot.olderThan).toEqual(truth.olderThan);
  });
});

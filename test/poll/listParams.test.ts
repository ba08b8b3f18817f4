/**
 * What the strategies ask `event.offline.list` for, recorded between the poller and the real
 * client talking to the simulated portal: `start: 0` (never `-1`, which may turn `total`
 * off) and no `auth_connector` inside a command (the client puts it on the request itself).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalClient } from '../../src/b24/portalClient.js';
import type { Params, RestClient } from '../../src/b24/types.js';
import { loadConfig } from '../../src/config/load.js';
import { countQueue } from '../../src/poll/count.js';
import { scanQueue } from '../../src/poll/scan.js';
import { SimServer, type SimPortal } from '../../src/sim/index.js';
import { captureLogger } from '../helpers/logs.js';
import { portalEnv } from '../helpers/env.js';

let sim: SimServer;
let portal: SimPortal;
let dir: string;
const dispatcher = new Agent({ keepAliveTimeout: 10 });

beforeAll(async () => {
  sim = await SimServer.start();
  portal = sim.addPortal('p', { rateLimit: null, events: ['ONCRMLEADADD'] });
  portal.bind('ONCRMDEALADD', { connector: 'c1' });
  portal.fill({ counts: { ONCRMDEALADD: { queued: 120, reserved: 3, error: 2 } } }, 'c1');
  dir = await mkdtemp(join(tmpdir(), 'b24-params-'));
});
afterAll(async () => {
  await dispatcher.close();
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

/** The real client for connector c1, and every `event.offline.list` parameter set it was given. */
function recordingClient(): { client: RestClient; lists: Params[] } {
  const { accessToken, refreshToken } = portal.authorize('monitor');
  const loaded = loadConfig({
    env: {
      ...portalEnv(sim, portal, { refreshToken, accessToken, tokenFile: join(dir, 't.json') }),
      B24_AUTH_CONNECTOR: 'c1',
    },
  });
  if (!loaded.ok) throw new Error('config');
  const { client } = createPortalClient(loaded.config.portals[0]!, {
    observer: { request: () => {}, restError: () => {}, operating: () => {}, refresh: () => {} },
    logger: captureLogger().logger,
    dispatcher,
  });
  const lists: Params[] = [];
  return {
    lists,
    client: {
      call: (method, params, options) => {
        if (method === 'event.offline.list') lists.push(params);
        return client.call(method, params, options);
      },
      batch: (commands, options) => {
        for (const command of Object.values(commands)) {
          if (command.method === 'event.offline.list') lists.push(command.params);
        }
        return client.batch(commands, options);
      },
    },
  };
}

describe.each([
  ['scan', scanQueue],
  ['count', countQueue],
])('the %s strategy', (_name, strategy) => {
  it('sends start: 0 and no auth_connector in any event.offline.list, and reads the connector queue', async () => {
    const { client, lists } = recordingClient();
    const takenAt = Math.floor(Date.now() / 1000);

    const snapshot = await strategy({
      client,
      takenAt,
      knownEventNames: [],
      authConnector: 'c1',
    });

    expect(lists.length).toBeGreaterThan(2);
    expect(lists.filter((params) => params['start'] !== 0)).toEqual([]);
    expect(lists.filter((params) => 'auth_connector' in params)).toEqual([]);
    expect(snapshot.depth).toBe(125);
    expect([...snapshot.groups.keys()]).toEqual(['ONCRMDEALADD']);
  });
});

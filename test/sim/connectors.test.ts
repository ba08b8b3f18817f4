/**
 * `auth_connector` is auth data: the server reads it from the top level of the HTTP request
 * only. Inside a batch each command runs with the batch request's own, a command's own is
 * ignored. Connectors need a plan that has them (403 WRONG_LICENSE otherwise).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchCommand } from '../../src/sim/index.js';
import type { SimPortal } from '../../src/sim/index.js';
import type { Harness } from './helpers.js';
import { batchOf, monitoredPortal, rest, send, startSim } from './helpers.js';

let sim: Harness;
let portal: SimPortal;
let token: string;
const PLAIN = 30; // rows with no connector
const IN_C1 = 12; // rows of connector c1

beforeAll(async () => {
  sim = await startSim();
  ({ portal, token } = monitoredPortal(sim, 'split', { events: ['ONCRMLEADADD'] }));
  portal.bind('ONCRMDEALADD', { connector: 'c1' });
  portal.fill({ counts: { ONCRMLEADADD: { queued: PLAIN } } });
  portal.fill({ counts: { ONCRMDEALADD: { queued: IN_C1 } } }, 'c1');
});

afterAll(async () => {
  await sim.close();
});

const count = batchCommand('event.offline.list', { start: 0 });
const countInC1 = batchCommand('event.offline.list', { start: 0, auth_connector: 'c1' });

describe('auth_connector of a batch', () => {
  it("applies the batch request's auth_connector to every command", async () => {
    const answer = await rest(
      sim.agent,
      portal,
      'batch',
      { auth_connector: 'c1', cmd: { plain: count, own: countInC1 } },
      { token },
    );

    expect(answer.status).toBe(200);
    expect(batchOf(answer).result_total).toEqual({ plain: IN_C1, own: IN_C1 });
  });

  it("ignores a command's own auth_connector", async () => {
    const answer = await rest(
      sim.agent,
      portal,
      'batch',
      {
        cmd: { own: countInC1, rows: batchCommand('event.offline.list', { auth_connector: 'c1' }) },
      },
      { token },
    );

    const result = batchOf(answer);
    expect(result.result_total).toEqual({ own: PLAIN, rows: PLAIN });
    const names = (result.result as Record<string, { EVENT_NAME: string }[]>)['rows']!.map(
      (row) => row.EVENT_NAME,
    );
    expect(new Set(names)).toEqual(new Set(['ONCRMLEADADD']));
  });

  it("a command's auth_connector cannot switch the batch's connector off either", async () => {
    const answer = await rest(
      sim.agent,
      portal,
      'batch',
      { auth_connector: 'c1', cmd: { none: 'event.offline.list?auth_connector=' } },
      { token },
    );

    expect(batchOf(answer).result_total).toEqual({ none: IN_C1 });
  });

  it('event.get inside the batch names each offline handler connector', async () => {
    const answer = await rest(
      sim.agent,
      portal,
      'batch',
      { auth_connector: 'c1', cmd: { handlers: 'event.get' } },
      { token },
    );

    expect((batchOf(answer).result as Record<string, unknown>)['handlers']).toEqual([
      { event: 'ONCRMLEADADD', handler: '', auth_type: '0', offline: 1, connector_id: '' },
      { event: 'ONCRMDEALADD', handler: '', auth_type: '0', offline: 1, connector_id: 'c1' },
    ]);
  });
});

describe('auth_connector of a top-level request', () => {
  it.each([
    ['the JSON body', 'json'],
    ['a form body', 'form'],
    ['the query string', 'get'],
  ] as const)('is read from %s', async (_, transport) => {
    const answer = await rest(
      sim.agent,
      portal,
      'event.offline.list',
      { start: 0, auth_connector: 'c1' },
      { token, transport },
    );

    expect(answer.body.total).toBe(IN_C1);
  });

  it('is read from the query string of a POST with a JSON body', async () => {
    const answer = await send(
      sim.agent,
      `${portal.restUrl}event.offline.list?auth_connector=c1`,
      { auth: token, start: 0 },
      'json',
    );

    expect(answer.body.total).toBe(IN_C1);
  });
});

describe('a plan without connectors', () => {
  it('answers 403 WRONG_LICENSE to a request with auth_connector, batch included', async () => {
    const basic = monitoredPortal(sim, 'basic-plan', { connectorsAllowed: false });
    const call = (method: string, params: Record<string, unknown>) =>
      rest(sim.agent, basic.portal, method, params, { token: basic.token });

    const list = await call('event.offline.list', { auth_connector: 'c1' });
    const batch = await call('batch', { auth_connector: 'c1', cmd: { n: count } });
    const withoutConnector = await call('event.offline.list', {});
    const inCommandOnly = await call('batch', { cmd: { n: countInC1 } });

    expect([list.status, batch.status]).toEqual([403, 403]);
    expect(list.body.error).toBe('WRONG_LICENSE');
    expect(batch.body.error).toBe('WRONG_LICENSE');
    expect(withoutConnector.status).toBe(200);
    expect(batchOf(inCommandOnly).result_total).toEqual({ n: 0 });
  });
});

/** The methods other than event.offline.list, over real HTTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OfflineEventJson, SimPortal } from '../../src/sim/index.js';
import type { Harness } from './helpers.js';
import { monitoredPortal, rest, send, startSim } from './helpers.js';

let sim: Harness;

beforeAll(async () => {
  sim = await startSim();
});

afterAll(async () => {
  await sim.close();
});

interface GetResult {
  process_id: string | null;
  events: OfflineEventJson[];
}

function setup(id: string, options: Parameters<typeof monitoredPortal>[2] = {}) {
  const env = monitoredPortal(sim, id, options);
  const call = (method: string, params: Record<string, unknown> = {}) =>
    rest(sim.agent, env.portal, method, params, { token: env.token });
  return { ...env, call };
}

function addThree(portal: SimPortal): void {
  const now = sim.clock.now();
  portal.add({ eventName: 'ONCRMLEADADD', timestampMs: now - 3000 });
  portal.add({ eventName: 'ONCRMDEALADD', timestampMs: now - 2000 });
  portal.add({ eventName: 'ONCRMLEADADD', timestampMs: now - 1000 });
}

describe('event.offline.get', () => {
  it('returns and deletes rows by default, without a process_id', async () => {
    const { portal, call } = setup('get-clear');
    addThree(portal);

    const answer = await call('event.offline.get', { limit: 2 });

    const result = answer.body.result as GetResult;
    expect(answer.status).toBe(200);
    expect(result.process_id).toBeNull();
    expect(result.events.map((event) => event.ID)).toEqual(['1', '2']);
    expect(portal.queue().size).toBe(1);
  });

  it('reserves with clear=0; clear and error then settle the rows', async () => {
    const { portal, call } = setup('get-reserve');
    addThree(portal);

    const got = await call('event.offline.get', { clear: 0 });
    const { process_id: processId, events } = got.body.result as GetResult;
    const failed = await call('event.offline.error', {
      process_id: processId,
      message_id: [events[0]!.MESSAGE_ID],
    });
    const cleared = await call('event.offline.clear', { process_id: processId, id: [2] });

    expect(processId).toMatch(/^[0-9a-z]{32}$/);
    expect([failed.body.result, cleared.body.result]).toEqual([true, true]);
    expect(portal.queue().get(1)).toMatchObject({ ERROR: '1', PROCESS_ID: '' });
    expect(portal.queue().get(2)).toBeUndefined();
    expect(portal.queue().get(3)).toMatchObject({ ERROR: '0', PROCESS_ID: processId });
  });

  it('returns error rows with error=1', async () => {
    const { portal, call } = setup('get-error');
    addThree(portal);
    const { processId } = portal.queue().reserve(1, { clear: false });
    portal.queue().markError(processId);

    const answer = await call('event.offline.get', { error: 1, clear: 0 });

    expect((answer.body.result as GetResult).events.map((event) => event.ID)).toEqual(['1']);
  });

  it('filters by the fields it supports', async () => {
    const { portal, call } = setup('get-filter');
    addThree(portal);

    const answer = await call('event.offline.get', {
      filter: { EVENT_NAME: 'ONCRMLEADADD' },
      order: { ID: 'DESC' },
    });

    expect((answer.body.result as GetResult).events.map((event) => event.ID)).toEqual(['3', '1']);
  });

  it.each([
    [{ filter: { ERROR: 1 } }, 'Filter field not allowed: ERROR'],
    [{ filter: { PROCESS_ID: '' } }, 'Filter field not allowed: PROCESS_ID'],
    [{ limit: 0 }, 'Value of limit must be a positive integer'],
  ])('refuses %j', async (params, description) => {
    const { call } = setup(`get-bad-${description.length}-${Object.keys(params)[0]}`);

    const answer = await call('event.offline.get', params);

    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: 'ERROR_ARGUMENT', error_description: description });
  });

  it('always clears without the extended mode', async () => {
    const { portal, call } = setup('not-extended', { offlineExtended: false });
    addThree(portal);

    const feature = await call('feature.get', { CODE: 'rest_offline_extended' });
    const answer = await call('event.offline.get', { clear: 0 });

    expect(feature.body.result).toEqual({ value: 'N' });
    expect((answer.body.result as GetResult).process_id).toBeNull();
    expect(portal.queue().size).toBe(0);
  });
});

describe('event.offline.clear and event.offline.error', () => {
  it.each(['event.offline.clear', 'event.offline.error'])(
    '%s needs a process_id',
    async (method) => {
      const { call } = setup(`needs-pid-${method}`);

      const answer = await call(method, {});

      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({
        error: 'ERROR_ARGUMENT',
        error_description: "Argument 'process_id' is null or empty",
      });
    },
  );
});

describe('bindings', () => {
  it('binds and unbinds offline events, listed by event.get', async () => {
    const { call } = setup('bindings', { events: ['ONCRMLEADADD'] });

    const bound = await call('event.bind', {
      event: 'onCrmDealAdd',
      event_type: 'offline',
      auth_connector: 'c1',
    });
    const twice = await call('event.bind', {
      event: 'ONCRMDEALADD',
      event_type: 'offline',
      auth_connector: 'c1',
    });
    const listed = await call('event.get');
    const unbound = await call('event.unbind', { event: 'ONCRMLEADADD', event_type: 'offline' });
    const after = await call('event.get');

    expect(bound.body.result).toBe(true);
    expect(twice.body).toEqual({
      error: 'ERROR_CORE',
      error_description: 'Handler already binded',
    });
    expect(listed.body.result).toEqual([
      { event: 'ONCRMLEADADD', handler: '', auth_type: '0', offline: 1, connector_id: '' },
      { event: 'ONCRMDEALADD', handler: '', auth_type: '0', offline: 1, connector_id: 'c1' },
    ]);
    expect(unbound.body.result).toEqual({ count: 1 });
    expect(after.body.result).toHaveLength(1);
  });

  it.each([
    [{ event: 'not an event', event_type: 'offline' }, 'ERROR_EVENT_NOT_FOUND'],
    [{ event: 'ONCRMLEADADD' }, 'ERROR_ARGUMENT'],
  ])('refuses %j', async (params, error) => {
    const { call } = setup(`bind-bad-${error}`);

    const answer = await call('event.bind', params);

    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe(error);
  });
});

describe('feature.get', () => {
  it.each([
    [{ CODE: 'rest_offline_extended' }, { value: 'Y' }],
    [{ code: 'rest_offline_extended' }, { value: 'Y' }],
    [{ CODE: 'something_else' }, { value: 'N' }],
  ])('%j → %j', async (params, expected) => {
    const { call } = setup(`feature-${JSON.stringify(params).length}-${Object.keys(params)[0]}`);

    const answer = await call('feature.get', params);

    expect(answer.body.result).toEqual(expected);
  });
});

describe('every answer', () => {
  it('has a time block with the portal offset and operating figures', async () => {
    const { call } = setup('time', { timezone: '+02:00' });

    const answer = await call('event.get');

    const time = answer.body.time ?? {};
    const startSec = sim.clock.now() / 1000;
    expect(time['start']).toBe(startSec);
    expect(time['date_start']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+02:00$/);
    expect(time['duration']).toBeGreaterThanOrEqual(0);
    expect(time['processing']).toBeGreaterThanOrEqual(0);
    expect(typeof time['operating']).toBe('number');
    // the call's seconds went to this minute's basket: it leaves the window ten minutes on
    expect(time['operating_reset_at']).toBe((Math.floor(startSec / 60) + 10) * 60);
  });

  it('answers 404 ERROR_METHOD_NOT_FOUND for an unknown method', async () => {
    const { call } = setup('unknown-method');

    const answer = await call('crm.lead.list');

    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({
      error: 'ERROR_METHOD_NOT_FOUND',
      error_description: 'Method not found!',
    });
  });

  it('answers 404 for an unknown portal', async () => {
    const answer = await send(sim.agent, `${sim.server.url}/nobody/rest/event.get`, {}, 'get');

    expect(answer.status).toBe(404);
  });
});

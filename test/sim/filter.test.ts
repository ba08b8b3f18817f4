/**
 * `event.offline.list` filters and orders over real HTTP, on a five-row queue of known state:
 *
 * | ID | EVENT_NAME       | TIMESTAMP_X (+03:00) | status   |
 * |----|------------------|----------------------|----------|
 * | 1  | ONCRMLEADADD     | 11:32:31             | error    |
 * | 2  | ONCRMLEADUPDATE  | 12:02:31             | reserved |
 * | 3  | ONCRMDEALADD     | 12:22:31             | queued   |
 * | 4  | ONCRMLEADADD     | 12:31:31             | queued   |
 * | 5  | ONCRMDEALUPDATE  | 12:32:31 (now)       | queued   |
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimPortal } from '../../src/sim/index.js';
import type { Harness, Transport } from './helpers.js';
import { idsOf, monitoredPortal, rest, rowsOf, startSim } from './helpers.js';

let sim: Harness;
let portal: SimPortal;
let token: string;
let reservedProcessId: string;
const MESSAGE_3 = 'deadbeef'.repeat(4);

beforeAll(async () => {
  sim = await startSim();
  ({ portal, token } = monitoredPortal(sim));
  const now = sim.clock.now();
  const names = [
    'ONCRMLEADADD',
    'ONCRMLEADUPDATE',
    'ONCRMDEALADD',
    'ONCRMLEADADD',
    'ONCRMDEALUPDATE',
  ];
  const agesSec = [3600, 1800, 600, 60, 0];
  names.forEach((eventName, index) => {
    portal.add({
      eventName,
      timestampMs: now - agesSec[index]! * 1000,
      ...(index === 2 ? { messageId: MESSAGE_3 } : {}),
    });
  });
  const queue = portal.queue();
  const failed = queue.reserve(1, { filter: idFilter(1), clear: false });
  queue.markError(failed.processId);
  reservedProcessId = queue.reserve(1, { filter: idFilter(2), clear: false }).processId;
});

afterAll(async () => {
  await sim.close();
});

function idFilter(id: number) {
  return {
    conditions: [{ field: 'ID' as const, op: '=' as const, values: [id] }],
    key: `ID=${id}`,
  };
}

async function list(params: Record<string, unknown>, transport: Transport = 'json') {
  return rest(sim.agent, portal, 'event.offline.list', params, { token, transport });
}

describe('filter operators', () => {
  it.each([
    [{}, [1, 2, 3, 4, 5]],
    [{ ID: 3 }, [3]],
    [{ '=ID': '3' }, [3]],
    [{ ID: '3abc' }, [3]],
    [{ '>ID': 3 }, [4, 5]],
    [{ '>=ID': 3 }, [3, 4, 5]],
    [{ '<ID': 3 }, [1, 2]],
    [{ '<=ID': 3 }, [1, 2, 3]],
    [{ '>ID': 1, '<ID': 5 }, [2, 3, 4]],
    [{ '@ID': [1, 5, 9] }, [1, 5]],
    [{ ID: [2, 4] }, [2, 4]],
    [{ '%ID': '5' }, [5]],
    [{ EVENT_NAME: 'ONCRMLEADADD' }, [1, 4]],
    [{ '=EVENT_NAME': 'oncrmleadadd' }, [1, 4]],
    [{ '%EVENT_NAME': 'deal' }, [3, 5]],
    [{ '@EVENT_NAME': ['ONCRMDEALADD', 'ONCRMDEALUPDATE'] }, [3, 5]],
    [{ '>EVENT_NAME': 'ONCRMLEADADD' }, [2]],
    [{ '<EVENT_NAME': 'ONCRMLEAD' }, [3, 5]],
    [{ ERROR: 1 }, [1]],
    [{ '=ERROR': '1' }, [1]],
    [{ ERROR: 0 }, [2, 3, 4, 5]],
    [{ '=ERROR': '0' }, [2, 3, 4, 5]],
    [{ '>ERROR': 0 }, [1]],
    [{ '@ERROR': [0, 1] }, [1, 2, 3, 4, 5]],
    [{ '=PROCESS_ID': '' }, [1, 3, 4, 5]],
    [{ '>PROCESS_ID': '' }, [2]],
    [{ '=PROCESS_ID': '', ERROR: 0 }, [3, 4, 5]],
    [{ EVENT_NAME: 'ONCRMLEADADD', '=PROCESS_ID': '', ERROR: 0 }, [4]],
    [{ MESSAGE_ID: MESSAGE_3 }, [3]],
    [{ '=MESSAGE_ID': MESSAGE_3.toUpperCase() }, [3]],
    [{ '%MESSAGE_ID': 'beefdead' }, [3]],
    [{ '<TIMESTAMP_X': '2024-07-18T12:22:31+03:00' }, [1, 2]],
    [{ '<=TIMESTAMP_X': '2024-07-18T12:22:31+03:00' }, [1, 2, 3]],
    [{ '<TIMESTAMP_X': '2024-07-18T12:22:31' }, [1, 2]],
    [{ '<TIMESTAMP_X': '2024-07-18T09:22:31Z' }, [1, 2]],
    [{ '<TIMESTAMP_X': '2024-07-18T11:22:31+0200' }, [1, 2]],
    [{ '<TIMESTAMP_X': '2024-07-18 12:22:31' }, [1, 2]],
    [{ '<TIMESTAMP_X': '18.07.2024 12:22:31' }, [1, 2]],
    [{ '<TIMESTAMP_X': '2024-07-18' }, []],
    [{ '>TIMESTAMP_X': '2024-07-18T12:31:31+03:00' }, [5]],
    [{ '>=TIMESTAMP_X': '2024-07-18T12:31:31+03:00' }, [4, 5]],
    [{ TIMESTAMP_X: '2024-07-18T12:32:31+03:00' }, [5]],
    [{ '@TIMESTAMP_X': ['2024-07-18T11:32:31+03:00', '2024-07-18T12:32:31+03:00'] }, [1, 5]],
    [{ '%TIMESTAMP_X': '12:32:31' }, [5]],
    [{ PROCESS_ID: null }, []],
    [{ '@ID': [] }, []],
  ])('%j', async (filter, expected) => {
    const answer = await list({ filter });

    expect(answer.status).toBe(200);
    expect(idsOf(answer)).toEqual(expected);
    expect(answer.body.total).toBe(expected.length);
  });

  it('selects the reserved row by its PROCESS_ID', async () => {
    const exact = await list({ filter: { PROCESS_ID: reservedProcessId } });
    const part = await list({ filter: { '%PROCESS_ID': reservedProcessId.slice(5, 15) } });

    expect(idsOf(exact)).toEqual([2]);
    expect(idsOf(part)).toEqual([2]);
    expect(rowsOf(exact)[0]?.PROCESS_ID).toBe(reservedProcessId);
  });
});

describe('refused filters and orders', () => {
  it.each([
    [{ filter: { '!ERROR': 1 } }, 'Filter operation not allowed: !'],
    [{ filter: { '!=ERROR': 1 } }, 'Filter operation not allowed: !='],
    [{ filter: { '!PROCESS_ID': '' } }, 'Filter operation not allowed: !'],
    [{ filter: { '><ID': [1, 2] } }, 'Filter operation not allowed: ><'],
    [{ filter: { APP_ID: 1 } }, 'Filter field not allowed: APP_ID'],
    [{ filter: { '=app_id': 1 } }, 'Filter field not allowed: APP_ID'],
    [{ order: { event_data: 'asc' } }, 'Order field not allowed: EVENT_DATA'],
    [{ filter: { '=EVENT_DATA': 'x' } }, 'Filter field not allowed: EVENT_DATA'],
    [{ filter: { '<TIMESTAMP_X': 'yesterday' } }, 'Invalid date for TIMESTAMP_X: yesterday'],
    [{ filter: { '<TIMESTAMP_X': '2024-02-30' } }, 'Invalid date for TIMESTAMP_X: 2024-02-30'],
    [{ filter: { '>ID': [1, 2] } }, 'Filter value of >ID must be a scalar'],
    [{ order: { EVENT_DATA: 'ASC' } }, 'Order field not allowed: EVENT_DATA'],
    [{ order: { ID: 'UP' } }, 'Order direction not allowed: UP'],
  ])('%j', async (params, description) => {
    const answer = await list(params);

    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: 'ERROR_ARGUMENT', error_description: description });
  });
});

describe('field names are case-insensitive (the server upper-cases the keys)', () => {
  it.each([
    [{ id: 3 }, [3]],
    [{ '>=id': 4 }, [4, 5]],
    [{ '=Error': 1 }, [1]],
    [{ event_name: 'ONCRMLEADADD' }, [1, 4]],
    [{ '%Event_Name': 'deal' }, [3, 5]],
    [{ '=process_id': '' }, [1, 3, 4, 5]],
    [{ '@message_id': [MESSAGE_3] }, [3]],
    [{ '<timestamp_x': '2024-07-18T12:00:00+03:00' }, [1]],
  ])('filter %j', async (filter, ids) => {
    const answer = await list({ filter });

    expect(answer.status).toBe(200);
    expect(idsOf(answer)).toEqual(ids);
    expect(answer.body.total).toBe(ids.length);
  });

  it.each([
    [{ id: 'desc' }, [5, 4, 3, 2, 1]],
    [{ event_name: 'asc', Id: 'DESC' }, [3, 5, 4, 1, 2]],
  ])('order %j', async (order, ids) => {
    expect(idsOf(await list({ order }))).toEqual(ids);
  });

  it('of two keys differing in case, the later one wins', async () => {
    expect(idsOf(await list({ filter: { ID: 1, id: 2 } }))).toEqual([2]);
  });

  it('inside a batch command too', async () => {
    const answer = await rest(
      sim.agent,
      portal,
      'batch',
      { cmd: { c: 'event.offline.list?filter%5B%3Derror%5D=1&order%5Bid%5D=desc' } },
      { token },
    );

    expect((answer.body.result as { result_total: unknown }).result_total).toEqual({ c: 1 });
  });
});

describe('order', () => {
  it.each([
    [undefined, [1, 2, 3, 4, 5]],
    [{ ID: 'ASC' }, [1, 2, 3, 4, 5]],
    [{ ID: 'DESC' }, [5, 4, 3, 2, 1]],
    [{ ID: 'desc' }, [5, 4, 3, 2, 1]],
    [{ TIMESTAMP_X: 'DESC' }, [5, 4, 3, 2, 1]],
    [{ EVENT_NAME: 'ASC' }, [3, 5, 1, 4, 2]],
    [{ EVENT_NAME: 'ASC', ID: 'DESC' }, [3, 5, 4, 1, 2]],
    // ties go by ID in the direction of the last key, as MariaDB reading an index gives them
    [{ ERROR: 'DESC' }, [1, 5, 4, 3, 2]],
    [{ PROCESS_ID: 'DESC' }, [2, 5, 4, 3, 1]],
  ])('%j', async (order, expected) => {
    const answer = await list(order === undefined ? {} : { order });

    expect(idsOf(answer)).toEqual(expected);
  });

  it.each(['ASC', 'DESC'])('MESSAGE_ID %s sorts by the string', async (direction) => {
    const answer = await list({ order: { MESSAGE_ID: direction } });

    const ids = rowsOf(answer).map((row) => row.MESSAGE_ID);
    const sorted = [...ids].sort();
    expect(ids).toEqual(direction === 'ASC' ? sorted : sorted.reverse());
  });
});

describe('request forms', () => {
  it.each<[Transport, string]>([
    ['json', 'event.offline.list'],
    ['form', 'event.offline.list'],
    ['get', 'event.offline.list'],
    ['json', 'event.offline.list.json'],
    ['get', 'EVENT.OFFLINE.LIST'],
  ])('%s to %s reads filter and order alike', async (transport, method) => {
    const answer = await rest(
      sim.agent,
      portal,
      method,
      { filter: { '=ERROR': 0, '>ID': 2 }, order: { ID: 'DESC' } },
      { token, transport },
    );

    expect(answer.status).toBe(200);
    expect(idsOf(answer)).toEqual([5, 4, 3]);
  });

  it('accepts upper-case parameter names', async () => {
    const answer = await list({ FILTER: { ERROR: 1 } });

    expect(idsOf(answer)).toEqual([1]);
  });

  it('renders rows like the real portal', async () => {
    const answer = await list({ filter: { ID: 3 } });

    expect(rowsOf(answer)).toEqual([
      {
        ID: '3',
        TIMESTAMP_X: '2024-07-18T12:22:31+03:00',
        EVENT_NAME: 'ONCRMDEALADD',
        EVENT_DATA: { FIELDS: { ID: 3 } },
        EVENT_ADDITIONAL: { user_id: '1' },
        MESSAGE_ID: MESSAGE_3,
        PROCESS_ID: '',
        ERROR: '0',
      },
    ]);
  });
});

/** `batch`: PHP-encoded commands, the unencoded-key trap, result_* shapes, limits on commands. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery } from '../../src/php/buildQuery.js';
import { batchCommand } from '../../src/sim/index.js';
import type { SimPortal } from '../../src/sim/index.js';
import type { Harness } from './helpers.js';
import { TIME_KEYS_OPERATING, batchOf, monitoredPortal, rest, send, startSim } from './helpers.js';

let sim: Harness;
let portal: SimPortal;
let token: string;
const TOTAL = 78;
const ERRORS = 5;

beforeAll(async () => {
  sim = await startSim();
  ({ portal, token } = monitoredPortal(sim));
  portal.fill({ counts: { ONCRMLEADADD: { queued: 70, error: ERRORS, reserved: 3 } } });
});

afterAll(async () => {
  await sim.close();
});

async function batch(cmd: unknown, extra: Record<string, unknown> = {}, target = portal) {
  return rest(sim.agent, target, 'batch', { halt: 0, cmd, ...extra }, { token });
}

describe('command encoding', () => {
  it.each([
    [
      'encoded by http_build_query',
      batchCommand('event.offline.list', { filter: { '=ERROR': 1 }, start: -1 }),
      ERRORS,
    ],
    ['encoded by hand', 'event.offline.list?filter%5B%3DERROR%5D=1&start=-1', ERRORS],
    ['unencoded key without "="', 'event.offline.list?filter[ERROR]=1&start=-1', ERRORS],
    [
      'unencoded key with "=": filter lost, whole queue counted',
      'event.offline.list?filter[=ERROR]=1&start=-1',
      TOTAL,
    ],
    ['unencoded ">=" key: filter lost too', 'event.offline.list?filter[>=ID]=70&start=-1', TOTAL],
    ['unencoded ">" key works', 'event.offline.list?filter[>ID]=70&start=-1', TOTAL - 70],
  ])('%s', async (_, command, expectedTotal) => {
    const answer = await batch({ count: command });

    expect(answer.status).toBe(200);
    expect(batchOf(answer).result_total).toEqual({ count: expectedTotal });
  });

  it('reads commands from a form body (values encoded once more)', async () => {
    const body = buildQuery({
      auth: token,
      cmd: { errors: batchCommand('event.offline.list', { filter: { '=ERROR': 1 }, start: -1 }) },
    });

    const answer = await send(
      sim.agent,
      `${portal.restUrl}batch`,
      Object.fromEntries(new URLSearchParams(body)),
      'form',
    );

    expect(batchOf(answer).result_total).toEqual({ errors: ERRORS });
  });
});

describe('answer shape', () => {
  it('groups results by command name, empty groups as []', async () => {
    const answer = await batch({
      page: 'event.offline.list',
      last: 'event.offline.list?start=50',
      feature: 'feature.get?CODE=rest_offline_extended',
    });

    const result = batchOf(answer);
    expect(Object.keys(answer.body)).toEqual(['result', 'time']);
    expect(Object.keys(result)).toEqual([
      'result',
      'result_error',
      'result_total',
      'result_next',
      'result_time',
    ]);
    expect(Object.keys(result.result as object)).toEqual(['page', 'last', 'feature']);
    expect((result.result as Record<string, unknown[]>)['page']).toHaveLength(50);
    expect((result.result as Record<string, unknown>)['feature']).toEqual({ value: 'Y' });
    expect(result.result_error).toEqual([]);
    expect(result.result_total).toEqual({ page: TOTAL, last: TOTAL });
    expect(result.result_next).toEqual({ page: 50 });
    expect(Object.keys((result.result_time as Record<string, object>)['page']!)).toEqual([
      ...TIME_KEYS_OPERATING,
    ]);
  });

  it('answers lists for a cmd array', async () => {
    const answer = await batch(['event.offline.list?start=-1&filter%5BERROR%5D=1', 'nope.method']);

    const result = batchOf(answer);
    expect(Array.isArray(result.result)).toBe(true);
    expect(result.result_total).toEqual([ERRORS]);
    expect(result.result_error).toEqual({
      1: { error: 'ERROR_METHOD_NOT_FOUND', error_description: 'Method not found!' },
    });
  });

  it('reports command errors per command and goes on without halt', async () => {
    const answer = await batch({
      bad: 'event.offline.list?filter%5B%21ERROR%5D=1',
      nested: 'batch?cmd%5Ba%5D=feature.get',
      good: 'event.offline.list?start=-1',
    });

    const result = batchOf(answer);
    expect(result.result_error).toEqual({
      bad: { error: 'ERROR_ARGUMENT', error_description: 'Filter operation not allowed: !' },
      nested: {
        error: 'ERROR_BATCH_METHOD_NOT_ALLOWED',
        error_description: 'Method is not allowed for batch usage',
      },
    });
    expect(result.result_total).toEqual({ good: TOTAL });
  });

  it('stops at the first error with halt=1', async () => {
    const answer = await batch(
      { a: 'feature.get?CODE=x', b: 'no.such', c: 'feature.get?CODE=y' },
      { halt: 1 },
    );

    const result = batchOf(answer);
    expect(Object.keys(result.result as object)).toEqual(['a']);
    expect(Object.keys(result.result_error as object)).toEqual(['b']);
  });
});

describe('limits on commands', () => {
  const command = 'feature.get?CODE=rest_offline_extended';

  it('runs 50 commands', async () => {
    const answer = await batch(Array.from({ length: 50 }, () => command));

    expect(answer.status).toBe(200);
    expect(batchOf(answer).result).toHaveLength(50);
  });

  it('runs only the first 50 of 52; each one past them fails with ERROR_BATCH_LENGTH_EXCEEDED', async () => {
    const cmd = Object.fromEntries(
      Array.from({ length: 52 }, (_, i) => [`c${i}`, i < 50 ? command : 'event.offline.list']),
    );

    const answer = await batch(cmd);

    const result = batchOf(answer);
    const exceeded = {
      error: 'ERROR_BATCH_LENGTH_EXCEEDED',
      error_description: 'Max batch length exceeded',
    };
    expect(answer.status).toBe(200);
    expect(Object.keys(result.result as object)).toEqual(Object.keys(cmd).slice(0, 50));
    expect(result.result_error).toEqual({ c50: exceeded, c51: exceeded });
    expect(result.result_total).toEqual([]);
    expect(Object.keys(result.result_time as object)).toHaveLength(50);
  });

  it('stops at the 51st with halt=1', async () => {
    const answer = await batch(
      Array.from({ length: 53 }, () => command),
      { halt: 1 },
    );

    expect(batchOf(answer).result).toHaveLength(50);
    expect(Object.keys(batchOf(answer).result_error as object)).toEqual(['50']);
  });

  it('refuses event.offline.list per command when the portal does not allow it in batch', async () => {
    const other = monitoredPortal(sim, 'no-batch-list', { batchAllowed: false });

    const answer = await rest(
      sim.agent,
      other.portal,
      'batch',
      { cmd: { list: 'event.offline.list', feature: command } },
      { token: other.token },
    );

    const result = batchOf(answer);
    expect(answer.status).toBe(200);
    expect(result.result_error).toEqual({
      list: {
        error: 'ERROR_BATCH_METHOD_NOT_ALLOWED',
        error_description: 'Method is not allowed for batch usage',
      },
    });
    expect(result.result).toEqual({ feature: { value: 'Y' } });
  });
});

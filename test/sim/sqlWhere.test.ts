/**
 * The SQL a list runs on the SQL-backed portal: the documented filter semantics, the app and
 * connector scope, and the order's tie-break (pure translation, no database needed).
 */
import { describe, expect, it } from 'vitest';
import { parseFilter, parseOrder } from '../../src/sim/index.js';
import { orderSql, whereSql } from '../../src/sim/sql/index.js';

const OFFSET = 180;

function where(filter: Record<string, unknown>, connector = '') {
  return whereSql(parseFilter(filter, { offsetMinutes: OFFSET }), { appId: 7, connector }, OFFSET);
}

const SCOPE = "APP_ID = ? AND (CONNECTOR_ID IS NULL OR CONNECTOR_ID = '')";

describe('whereSql', () => {
  it.each([
    [{}, SCOPE, [7]],
    [{ '=PROCESS_ID': '' }, `${SCOPE} AND (PROCESS_ID IS NULL OR PROCESS_ID = '')`, [7]],
    [{ '>PROCESS_ID': '' }, `${SCOPE} AND PROCESS_ID > ?`, [7, '']],
    [{ EVENT_NAME: 'onCrmLeadAdd' }, `${SCOPE} AND EVENT_NAME = ?`, [7, 'ONCRMLEADADD']],
    [{ '@EVENT_NAME': ['a', 'b'] }, `${SCOPE} AND EVENT_NAME IN (?, ?)`, [7, 'A', 'B']],
    [{ '@EVENT_NAME': [] }, `${SCOPE} AND 0 = 1`, [7]],
    [{ '%MESSAGE_ID': '5_%' }, `${SCOPE} AND MESSAGE_ID LIKE ?`, [7, '%5\\_\\%%']],
    [{ '=ERROR': '1' }, `${SCOPE} AND ERROR = ?`, [7, 1]],
    [{ '>ID': '12abc' }, `${SCOPE} AND ID > ?`, [7, 12]],
    [
      { '<TIMESTAMP_X': '2024-07-18T12:00:00+00:00' },
      `${SCOPE} AND TIMESTAMP_X < ?`,
      [7, '2024-07-18 15:00:00'],
    ],
  ])('%j', (filter, sql, params) => {
    expect(where(filter)).toEqual({ sql, params });
  });

  it('scopes a list to the request’s auth connector', () => {
    expect(where({}, 'wa')).toEqual({ sql: 'APP_ID = ? AND CONNECTOR_ID = ?', params: [7, 'wa'] });
  });
});

describe('orderSql', () => {
  it.each([
    [undefined, 'ID ASC'],
    [{ TIMESTAMP_X: 'ASC' }, 'TIMESTAMP_X ASC, ID ASC'],
    [{ TIMESTAMP_X: 'DESC' }, 'TIMESTAMP_X DESC, ID DESC'],
    [{ ERROR: 'DESC', ID: 'ASC' }, 'ERROR DESC, ID ASC'],
  ])('%j', (order, sql) => {
    expect(orderSql(parseOrder(order, [{ field: 'ID', desc: false }]))).toBe(sql);
  });
});

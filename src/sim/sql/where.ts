/**
 * A parsed `event.offline.list` filter and order (src/sim/filter.ts: the same validation as
 * the in-memory portal) as the SQL the server's ORM runs, with the documented semantics:
 * `=` (or no prefix) with "" is `(F IS NULL OR F = '')`, `=`/`@` with several values IN,
 * `>`/`<`/`>=`/`<=` comparisons, `%` a substring LIKE; the app and the auth connector always
 * filter the rows (`APP_ID = ? AND CONNECTOR_ID …`). Values are bound as parameters; dates are
 * written in the session's time zone, which the store sets to the portal's offset.
 */
import { formatSql } from '../dates.js';
import type { Condition, Filter, OrderKey } from '../filter.js';

export type SqlValue = string | number | null;

export interface SqlText {
  readonly sql: string;
  readonly params: readonly SqlValue[];
}

/** The app's rows of one connector, as the server scopes every list. */
export interface QueueScope {
  readonly appId: number;
  readonly connector: string;
}

const STRING_FIELDS = new Set(['EVENT_NAME', 'MESSAGE_ID', 'PROCESS_ID']);

/** `%`: the value matched anywhere, its own `%`, `_` and `\` taken literally. */
function likePattern(value: string): string {
  return `%${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function sqlValue(condition: Condition, value: number | string, offsetMinutes: number): SqlValue {
  if (condition.field === 'TIMESTAMP_X' && typeof value === 'number') {
    return formatSql(value, offsetMinutes);
  }
  return value;
}

function conditionSql(condition: Condition, offsetMinutes: number): SqlText {
  const { field, op, values } = condition;
  if (values.length === 0) return { sql: '0 = 1', params: [] };
  const bound = values.map((value) => sqlValue(condition, value, offsetMinutes));
  switch (op) {
    case '%':
      return { sql: `${field} LIKE ?`, params: [likePattern(String(values[0]))] };
    case '>':
    case '>=':
    case '<':
    case '<=':
      return { sql: `${field} ${op} ?`, params: [bound[0] ?? null] };
    default: {
      if (bound.length > 1) {
        return { sql: `${field} IN (${bound.map(() => '?').join(', ')})`, params: bound };
      }
      if (op === '=' && bound[0] === '' && STRING_FIELDS.has(field)) {
        return { sql: `(${field} IS NULL OR ${field} = '')`, params: [] };
      }
      return { sql: `${field} = ?`, params: bound };
    }
  }
}

/** The WHERE clause (without the keyword) of a list in `scope`. */
export function whereSql(filter: Filter, scope: QueueScope, offsetMinutes: number): SqlText {
  const parts: string[] = ['APP_ID = ?'];
  const params: SqlValue[] = [scope.appId];
  if (scope.connector === '') {
    parts.push("(CONNECTOR_ID IS NULL OR CONNECTOR_ID = '')");
  } else {
    parts.push('CONNECTOR_ID = ?');
    params.push(scope.connector);
  }
  for (const condition of filter.conditions) {
    const part = conditionSql(condition, offsetMinutes);
    parts.push(part.sql);
    params.push(...part.params);
  }
  return { sql: parts.join(' AND '), params };
}

/**
 * ORDER BY the requested keys. The server's order among equal keys is whatever the plan
 * gives; both simulated portals break ties by ID in the direction of the last key, which is
 * also what reading an index on the key (it ends with the primary key) gives for free.
 */
export function orderSql(order: readonly OrderKey[]): string {
  const keys = order.map(({ field, desc }) => `${field} ${desc ? 'DESC' : 'ASC'}`);
  const last = order.at(-1);
  if (!order.some(({ field }) => field === 'ID')) {
    keys.push(`ID ${last?.desc === true ? 'DESC' : 'ASC'}`);
  }
  return keys.join(', ');
}

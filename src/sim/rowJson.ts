/**
 * How a queue row is shown: the JSON objects of `event.offline.list` and `event.offline.get`.
 * EVENT_DATA and EVENT_ADDITIONAL are stored only when the event brought them; otherwise they
 * are derived from the row (`{ FIELDS: { ID } }` and `{ user_id: '1' }`), so seeded rows hold
 * no objects.
 */
import { formatIso } from './dates.js';
import { FLAG_ERROR } from './plan.js';
import type { EventPayload, OfflineEventJson, OfflineRowJson, QueueEvent } from './queueTypes.js';
import type { RowStore } from './rowStore.js';

/** The payloads an event brought (either may be absent). */
export interface Payload {
  readonly data: EventPayload | undefined;
  readonly additional: EventPayload | undefined;
}

/** What of the payload `event` brings, or undefined for none (both derived). */
export function payloadOf(event: QueueEvent): Payload | undefined {
  return event.data === undefined && event.additional === undefined
    ? undefined
    : { data: event.data, additional: event.additional };
}

/** What a row shows besides its columns. */
export interface RowExtras {
  readonly payload: Payload | undefined;
  readonly messageId: string;
  readonly processId: string;
  readonly offsetMinutes: number;
}

/** A row as `event.offline.list` renders it. */
export function rowJson(rows: RowStore, row: number, extras: RowExtras): OfflineRowJson {
  const id = rows.ids[row]!;
  const { payload } = extras;
  return {
    ID: String(id),
    TIMESTAMP_X: formatIso(rows.ts[row]!, extras.offsetMinutes),
    EVENT_NAME: rows.nameTexts[rows.names[row]!]!,
    EVENT_DATA: payload?.data !== undefined ? payload.data : { FIELDS: { ID: id } },
    EVENT_ADDITIONAL: payload?.additional !== undefined ? payload.additional : { user_id: '1' },
    MESSAGE_ID: extras.messageId,
    PROCESS_ID: extras.processId,
    ERROR: (rows.flags[row]! & FLAG_ERROR) !== 0 ? '1' : '0',
  };
}

/** A row as `event.offline.get` renders it: no PROCESS_ID, no ERROR. */
export function eventJson(row: OfflineRowJson): OfflineEventJson {
  const { ID, TIMESTAMP_X, EVENT_NAME, EVENT_DATA, EVENT_ADDITIONAL, MESSAGE_ID } = row;
  return { ID, TIMESTAMP_X, EVENT_NAME, EVENT_DATA, EVENT_ADDITIONAL, MESSAGE_ID };
}

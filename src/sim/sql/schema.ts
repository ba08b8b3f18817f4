/**
 * The server's table behind the offline-event queue, as the rest module's install script
 * creates it (columns, defaults, the four indexes with their prefix lengths). No index covers
 * EVENT_NAME or ERROR: that is what makes most list commands pass over the app's whole queue.
 * One table holds every simulated portal's rows, told apart by APP_ID, as on a real server.
 */
export const TABLE = 'b_rest_event_offline';

export const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  ID int NOT NULL AUTO_INCREMENT,
  TIMESTAMP_X timestamp NULL DEFAULT current_timestamp(),
  MESSAGE_ID varchar(100) NOT NULL,
  APP_ID int NOT NULL,
  EVENT_NAME varchar(255) NOT NULL,
  EVENT_DATA text NULL,
  EVENT_ADDITIONAL text NULL,
  PROCESS_ID varchar(255) NULL DEFAULT '',
  CONNECTOR_ID varchar(255) NULL DEFAULT '',
  ERROR int NULL DEFAULT 0,
  PRIMARY KEY (ID),
  UNIQUE KEY ux_b_rest_event_offline1 (MESSAGE_ID(50), APP_ID, CONNECTOR_ID(100), PROCESS_ID(50)),
  KEY ix_b_rest_event_offline2 (TIMESTAMP_X),
  KEY ix_b_rest_event_offline3 (APP_ID, CONNECTOR_ID),
  KEY ix_b_rest_event_offline4 (PROCESS_ID)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;

/** The columns a list returns (TIMESTAMP_X as Unix seconds, rendered in the portal's offset). */
export const SELECT_COLUMNS =
  'ID, UNIX_TIMESTAMP(TIMESTAMP_X) AS TS, EVENT_NAME, EVENT_DATA, EVENT_ADDITIONAL, MESSAGE_ID, PROCESS_ID, ERROR';

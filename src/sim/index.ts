/**
 * The simulated Bitrix24 portal: the demo's engine and the test suites' main fixture.
 * Start here: `SimServer.start()`, then `server.addPortal(id)`.
 */
export { SimServer } from './server.js';
export type { SimServerOptions } from './server.js';
export { SimPortal } from './portal.js';
export { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from './portalOptions.js';
export type { SimPortalOptions } from './portalOptions.js';
export { OfflineQueue } from './queue.js';
export { PROCESS_ID_LIFETIME_SEC } from './cleanupJob.js';
export type { OfflineEventJson, OfflineRowJson } from './queueTypes.js';
export { spreadCounts } from './fill.js';
export type { FillSpec, StatusCounts } from './fill.js';
export { parseFilter, parseOrder } from './filter.js';
export type { Condition, OrderKey } from './filter.js';
export { batchCommand, parseBatchCommand, parseStr } from './phpQuery.js';
export { phpArrayJson } from './batch.js';
export { AUTHORIZATION_CODE_TTL_SEC } from './oauth.js';
export type { OAuthReply } from './oauth.js';
export { DEFAULT_OPERATING_LIMIT } from './limits.js';
export { FORCED_ERRORS, WRONG_TYPE_FAULTS } from './faults.js';
export type { WrongTypeFault } from './faults.js';
export { Journal } from './journal.js';
export { DEFAULT_EVENT_NAMES, startTraffic } from './traffic.js';
export { ManualClock } from './clock.js';
export { seededRandom } from './random.js';
export { formatSql, parseOffset } from './dates.js';

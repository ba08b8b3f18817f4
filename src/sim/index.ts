/**
 * The simulated Bitrix24 portal: the demo's engine and the test suites' main fixture.
 * Start here: `SimServer.start()`, then `server.addPortal(id)`.
 */
export { SimServer } from './server.js';
export type { SimServerOptions } from './server.js';
export { SimPortal, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from './portal.js';
export type {
  ApiTime,
  PortalContext,
  PortalEvent,
  PortalSettings,
  RestReply,
  SimPortalOptions,
} from './portal.js';
export {
  CLEANUP_INTERVAL_SEC,
  OfflineQueue,
  PROCESS_ID_LIFETIME_SEC,
  idSequence,
} from './queue.js';
export type {
  AddResult,
  BulkRows,
  EventPayload,
  IdSequence,
  LiveRow,
  OfflineEventJson,
  OfflineQueueOptions,
  OfflineRowJson,
  QueueColumns,
  QueueEvent,
  ReserveOptions,
  ReserveResult,
  RowSelection,
} from './queue.js';
export { fillQueue, spreadCounts } from './fill.js';
export type { FillResult, FillSpec, StatusCounts } from './fill.js';
export {
  DEFAULT_GET_ORDER,
  DEFAULT_LIST_ORDER,
  FILTER_FIELDS,
  FILTER_OPERATIONS,
  GET_FILTER_FIELDS,
  parseFilter,
  parseOrder,
} from './filter.js';
export type {
  Condition,
  Filter,
  FilterField,
  FilterOperation,
  FilterRules,
  OrderKey,
} from './filter.js';
export {
  batchCommand,
  httpBuildQuery,
  parseBatchCommand,
  parseStr,
  phpUrlDecode,
  phpUrlEncode,
} from './phpQuery.js';
export type { PhpArray, PhpValue } from './phpQuery.js';
export { BATCH_MAX_COMMANDS, phpArrayJson, runBatch } from './batch.js';
export { METHODS, PAGE_SIZE } from './methods.js';
export type { MethodHost, MethodOutput, MethodSpec } from './methods.js';
export { AUTHORIZATION_CODE_TTL_SEC, OAuthServer, REFRESH_TOKEN_TTL_SEC } from './oauth.js';
export type {
  Authorization,
  AuthorizeOptions,
  ConsentOptions,
  OAuthApp,
  OAuthReply,
  TokenPair,
} from './oauth.js';
export { authorizePage } from './authorize.js';
export type { AuthorizationRedirect, AuthorizePageHost } from './authorize.js';
export {
  DEFAULT_OPERATING_LIMIT,
  DEFAULT_RATE_LIMIT,
  LeakyBucket,
  OPERATING_BASKETS,
  OperatingMeter,
  REALISTIC_ROW_COST_SEC,
} from './limits.js';
export type { OperatingLimitOptions, OperatingUsage, RateLimitOptions } from './limits.js';
export { FORCED_ERRORS, FaultInjector, NO_FAULTS, WRONG_TYPE_FAULTS } from './faults.js';
export type {
  BodyFault,
  FaultSettings,
  ForcedError,
  TokenEndpointFault,
  TransportFault,
  WrongTypeFault,
} from './faults.js';
export { Journal } from './journal.js';
export type { JournalEntry } from './journal.js';
export { EventBindings } from './bindings.js';
export type { BindOptions, Binding } from './bindings.js';
export { computeTruth } from './truth.js';
export { FLAG_DELETED, FLAG_ERROR, FLAG_RESERVED } from './plan.js';
export type { Truth } from './truth.js';
export { DEFAULT_EVENT_NAMES, startTraffic } from './traffic.js';
export type { ConsumerOptions, Traffic, TrafficOptions, TrafficStats } from './traffic.js';
export { SimApiError, apiErrors, argumentError } from './errors.js';
export { ManualClock, systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { deriveSeed, randomAlnum, randomHex, secureHex, seededRandom } from './random.js';
export type { Random } from './random.js';
export { formatIso, formatSql, parseDate, parseOffset } from './dates.js';

/**
 * One simulated Bitrix24 portal with one installed application: its offline-event queues (one
 * per auth connector), bindings, settings, limits, faults and journal. REST calls go through
 * its RestPipeline (restPipeline.ts); the HTTP side lives in server.ts. The class is also
 * usable in-process: add events, seed rows, compute ground truth, authorize token pairs.
 */
import { EventBindings } from './bindings.js';
import type { BindOptions } from './bindings.js';
import type { Clock } from './clock.js';
import { parseOffset } from './dates.js';
import { SimApiError } from './errors.js';
import { FaultInjector } from './faults.js';
import type { TokenEndpointFault } from './faults.js';
import { fillQueue } from './fill.js';
import type { FillResult, FillSpec } from './fill.js';
import { Journal } from './journal.js';
import type { OfflineListBackend } from './listBackend.js';
import { DEFAULT_OPERATING_LIMIT, DEFAULT_RATE_LIMIT } from './limits.js';
import { authorizePage } from './authorize.js';
import type { AuthorizationRedirect } from './authorize.js';
import type {
  AuthorizeOptions,
  ConsentOptions,
  OAuthApp,
  OAuthReply,
  OAuthServer,
  TokenPair,
} from './oauth.js';
import { lowerKeys } from './params.js';
import type { Params } from './params.js';
import { PortalLimits } from './portalLimits.js';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from './portalOptions.js';
import type { PortalContext, PortalSettings, SimPortalOptions } from './portalOptions.js';
import { OfflineQueue } from './queue.js';
import { idSequence } from './queueTypes.js';
import type { AddResult, IdSequence, QueueEvent } from './queueTypes.js';
import type { Random } from './random.js';
import { deriveSeed, randomHex, seededRandom } from './random.js';
import { RestPipeline } from './restPipeline.js';
import type { RestPortal, RestReply } from './restPipeline.js';
import { computeTruth } from './truth.js';
import type { Truth } from './truth.js';

export interface PortalEvent extends QueueEvent {
  /** `auth_connector` of the row. @default '' (none) */
  readonly connector?: string;
}

export class SimPortal implements RestPortal, OAuthApp {
  readonly id: string;
  /** `http://127.0.0.1:PORT/<id>/rest/`, the `client_endpoint`. */
  readonly restUrl: string;
  /** `http://127.0.0.1:PORT/<id>/oauth/authorize/`: open with `?client_id=…` (see authorize.ts). */
  readonly authorizeUrl: string;
  readonly portalId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly domain: string;
  readonly memberId: string;
  readonly scope: string;
  readonly appStatus: string;
  readonly offsetMinutes: number;
  /** `server_domain` of the authorize redirect: the OAuth server's host and port. */
  readonly serverDomain: string;
  readonly faults: FaultInjector;
  readonly journal: Journal;
  readonly bindings = new EventBindings();
  readonly listBackend: OfflineListBackend | null;
  /** The last unexpected exception a handler threw (answered as 500); for debugging tests. */
  lastInternalError: unknown = null;

  accessTokenTtlSec = 3600;
  offlineExtended = true;
  batchAllowed = true;
  overload = false;
  connectorsAllowed = true;
  omitListTotal = false;
  handlerUrl: string | null = null;
  consent: ConsentOptions = {};
  private readonly limits: PortalLimits;
  private readonly rest: RestPipeline;

  private readonly clock: Clock;
  private readonly oauth: OAuthServer;
  private readonly idRandom: Random;
  private readonly ids: IdSequence;
  private readonly queues = new Map<string, OfflineQueue>();

  constructor(id: string, options: SimPortalOptions, context: PortalContext) {
    this.id = id;
    this.portalId = id;
    this.restUrl = `${context.baseUrl}/${id}/rest/`;
    this.authorizeUrl = `${context.baseUrl}/${id}/oauth/authorize/`;
    this.serverDomain = new URL(context.baseUrl).host;
    this.clock = context.clock;
    this.oauth = context.oauth;
    this.clientId = options.clientId ?? DEFAULT_CLIENT_ID;
    this.clientSecret = options.clientSecret ?? DEFAULT_CLIENT_SECRET;
    this.domain = options.domain ?? `${id}.bitrix24.sim`;
    this.scope = options.scope ?? 'crm';
    this.appStatus = options.appStatus ?? 'L';
    this.offsetMinutes = parseOffset(options.timezone ?? '+03:00');
    this.idRandom = options.random ?? context.idRandom;
    this.faults = new FaultInjector(options.random ?? context.faultRandom);
    this.journal = new Journal(options.journalCapacity);
    this.memberId = randomHex(seededRandom(deriveSeed(0, `member:${id}`)), 32);
    this.ids = idSequence(options.firstId ?? 1);
    this.limits = new PortalLimits(context.clock);
    this.rest = new RestPipeline(this, context.clock, context.oauth, this.limits);
    this.listBackend = options.listBackend ?? null;
    this.configure({
      ...options,
      rateLimit: options.rateLimit === undefined ? DEFAULT_RATE_LIMIT : options.rateLimit,
      operatingLimit:
        options.operatingLimit === undefined ? DEFAULT_OPERATING_LIMIT : options.operatingLimit,
    });
    for (const event of options.events ?? []) this.bindings.bind(event);
  }

  /** Changes settings at run time (limits are reset when replaced). */
  configure(settings: PortalSettings): void {
    if (settings.accessTokenTtlSec !== undefined)
      this.accessTokenTtlSec = settings.accessTokenTtlSec;
    if (settings.offlineExtended !== undefined) this.offlineExtended = settings.offlineExtended;
    if (settings.batchAllowed !== undefined) this.batchAllowed = settings.batchAllowed;
    if (settings.overload !== undefined) this.overload = settings.overload;
    if (settings.omitListTotal !== undefined) this.omitListTotal = settings.omitListTotal;
    if (settings.handlerUrl !== undefined) this.handlerUrl = settings.handlerUrl;
    if (settings.consent !== undefined) this.consent = settings.consent;
    if (settings.connectorsAllowed !== undefined)
      this.connectorsAllowed = settings.connectorsAllowed;
    this.limits.configure(settings);
  }

  // ---- the queue, in-process ----------------------------------------------------------------

  /** The queue of one auth connector ('' = rows with no connector). */
  queue(connector = ''): OfflineQueue {
    let queue = this.queues.get(connector);
    if (queue === undefined) {
      queue = new OfflineQueue({
        clock: this.clock,
        random: this.idRandom,
        offsetMinutes: this.offsetMinutes,
        ids: this.ids,
      });
      this.queues.set(connector, queue);
    }
    return queue;
  }

  /** An event happens on the portal (merging by MESSAGE_ID, see OfflineQueue.add). */
  add(event: PortalEvent): AddResult {
    return this.queue(event.connector).add(event);
  }

  /** Seeds rows in bulk (see FillSpec). */
  fill(spec: FillSpec, connector = ''): FillResult {
    return fillQueue(this.queue(connector), spec, this.clock.now());
  }

  /** Binds an event for the application (offline unless told otherwise). */
  bind(eventName: string, options?: BindOptions): boolean {
    return this.bindings.bind(eventName, options);
  }

  unbind(eventName: string, options?: BindOptions): number {
    return this.bindings.unbind(eventName, options);
  }

  /** Ground truth of the queue at `nowSec` (see truth.ts). */
  truth(nowSec: number, connector = ''): Truth {
    this.expireReservations();
    return computeTruth(this.queue(connector), nowSec, this.bindings.offlineNames(connector));
  }

  // ---- tokens -------------------------------------------------------------------------------

  /** An administrator (by default) authorizes the app: an independent pair labelled `holder`. */
  authorize(holder: string, options?: AuthorizeOptions): TokenPair {
    return this.oauth.authorize(this.id, holder, options);
  }

  /**
   * Consent on the authorize page without the page: a one-time code (30 s) and the rest of
   * what the redirect to the handler carries. `options` default to the `consent` setting.
   */
  issueAuthorizationCode(options: ConsentOptions = this.consent): AuthorizationRedirect {
    return {
      code: this.oauth.issueCode(this.id, options),
      domain: this.domain,
      member_id: this.memberId,
      scope: this.scope,
      server_domain: this.serverDomain,
    };
  }

  /** `GET <authorizeUrl>?client_id=…[&state=…]`: a 302 to the handler URL (see authorize.ts). */
  handleAuthorize(params: Params): OAuthReply {
    return authorizePage(this, lowerKeys(params));
  }

  expireAccessTokens(holder?: string): void {
    this.oauth.expireAccessTokens(this.id, holder);
  }

  revokeRefreshTokens(holder?: string): void {
    this.oauth.revokeRefreshTokens(this.id, holder);
  }

  tokenEndpointFault(): TokenEndpointFault {
    return this.faults.tokenEndpoint();
  }

  tokenEndpointError(): SimApiError | null {
    const forced = this.faults.settings.tokenEndpointError;
    return forced === null ? null : new SimApiError(forced.status, forced.code, forced.description);
  }

  // ---- REST ---------------------------------------------------------------------------------

  /**
   * Handles `<restUrl><method>` with its parameters (query and body merged), sent from
   * `source` (the client's address: the rate bucket is kept per address).
   */
  handle(rawMethod: string, rawParams: Params, source = '127.0.0.1'): Promise<RestReply> {
    return this.rest.handle(rawMethod, rawParams, source);
  }

  /** Runs each queue's cleanup job if due (every REST call does first). */
  expireReservations(): void {
    const now = this.clock.now();
    for (const queue of this.queues.values()) queue.expire(now);
  }
}

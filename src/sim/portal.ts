/**
 * One simulated Bitrix24 portal with one installed application: its offline-event queue(s),
 * bindings, limits, faults and journal, and the request pipeline every REST call goes through:
 * transport faults → overload → rate bucket → forced error → token → method → operating time →
 * administrator check → handler. The HTTP side lives in server.ts; this class is also usable
 * in-process (add events, seed rows, compute ground truth, authorize token pairs).
 */
import { performance } from 'node:perf_hooks';
import { runBatch } from './batch.js';
import type { CommandOutcome } from './batch.js';
import { EventBindings } from './bindings.js';
import type { BindOptions } from './bindings.js';
import type { Clock } from './clock.js';
import { formatIso, parseOffset } from './dates.js';
import { SimApiError, apiErrors } from './errors.js';
import { FaultInjector } from './faults.js';
import type { TokenEndpointFault } from './faults.js';
import { fillQueue } from './fill.js';
import type { FillResult, FillSpec } from './fill.js';
import { Journal } from './journal.js';
import type { OfflineListBackend } from './listBackend.js';
import type { JournalEntry } from './journal.js';
import {
  DEFAULT_OPERATING_LIMIT,
  DEFAULT_RATE_LIMIT,
  LeakyBucket,
  OperatingMeter,
} from './limits.js';
import type { OperatingLimitOptions, RateLimitOptions } from './limits.js';
import { METHODS } from './methods.js';
import type { MethodHost, MethodOutput } from './methods.js';
import { authorizePage } from './authorize.js';
import type { AuthorizationRedirect } from './authorize.js';
import type {
  Authorization,
  AuthorizeOptions,
  ConsentOptions,
  OAuthApp,
  OAuthReply,
  OAuthServer,
  TokenPair,
} from './oauth.js';
import { lowerKeys, phpString } from './params.js';
import type { Params } from './params.js';
import { OfflineQueue } from './queue.js';
import { idSequence } from './queueTypes.js';
import type { AddResult, IdSequence, QueueEvent } from './queueTypes.js';
import type { Random } from './random.js';
import { deriveSeed, randomHex, seededRandom } from './random.js';
import { computeTruth } from './truth.js';
import type { Truth } from './truth.js';

export const DEFAULT_CLIENT_ID = 'local.sim0000000000.00000000';
export const DEFAULT_CLIENT_SECRET = 'SimClientSecret0123456789abcdefghijklmnopqrstuvwxy';

/** Settings that can change while the portal runs (`portal.configure`). */
export interface PortalSettings {
  /** @default 3600 */
  readonly accessTokenTtlSec?: number;
  /**
   * The request-rate bucket, one per source address; null disables it.
   * @default { capacity: 50, drainPerSecond: 2 }
   */
  readonly rateLimit?: RateLimitOptions | null;
  /**
   * Operating time per method and its cost model; null disables it (no 429, no operating
   * figures in `time`). @default DEFAULT_OPERATING_LIMIT (480 s per 600 s, no added cost)
   */
  readonly operatingLimit?: Partial<OperatingLimitOptions> | null;
  /** `feature.get rest_offline_extended`; without it `event.offline.get` always clears. @default true */
  readonly offlineExtended?: boolean;
  /** `event.offline.list` allowed inside a batch. @default true */
  readonly batchAllowed?: boolean;
  /** Every REST call answers 503 OVERLOAD_LIMIT. @default false */
  readonly overload?: boolean;
  /**
   * The plan has connectors (Professional and above); without them a request with a non-empty
   * `auth_connector` answers 403 WRONG_LICENSE. @default true
   */
  readonly connectorsAllowed?: boolean;
  /**
   * `event.offline.list` answers carry no `total` (nor `result_total` in a batch), as the
   * docs' rule for `start=-1` would have it: for clients that must cope without. @default false
   */
  readonly omitListTotal?: boolean;
  /**
   * The app's handler URL: where `/oauth/authorize/` redirects with the code. null: the page
   * answers 400. @default null
   */
  readonly handlerUrl?: string | null;
  /** Who consents on `/oauth/authorize/` (and labels the new chain). @default an administrator, holder 'monitor' */
  readonly consent?: ConsentOptions;
}

export interface SimPortalOptions extends PortalSettings {
  /** @default DEFAULT_CLIENT_ID */
  readonly clientId?: string;
  /** @default DEFAULT_CLIENT_SECRET */
  readonly clientSecret?: string;
  /** @default `<id>.bitrix24.sim` */
  readonly domain?: string;
  /** The portal's UTC offset: `+03:00` or minutes. @default '+03:00' */
  readonly timezone?: string | number;
  /** Event names bound offline from the start. @default [] */
  readonly events?: readonly string[];
  /** @default 'crm' */
  readonly scope?: string;
  /** `status` of the token answer. @default 'L' */
  readonly appStatus?: string;
  /** ID of the first queued row. @default 1 */
  readonly firstId?: number;
  /** Journal entries kept. @default 100000 */
  readonly journalCapacity?: number;
  /** PRNG for faults and generated ids of this portal. @default seeded from the server's seed and the id */
  readonly random?: Random;
  /** Answers `event.offline.list` from elsewhere (the SQL-backed portal, src/sim/sql). @default null: the in-memory queue */
  readonly listBackend?: OfflineListBackend | null;
}

/** Where the portal lives; provided by the server. */
export interface PortalContext {
  readonly clock: Clock;
  readonly oauth: OAuthServer;
  /** `http://127.0.0.1:PORT` */
  readonly baseUrl: string;
  /** Default PRNGs, when the options bring none. */
  readonly faultRandom: Random;
  readonly idRandom: Random;
}

/** What the server must do with a REST request. */
export type RestReply =
  | {
      readonly kind: 'body';
      readonly status: number;
      readonly text: string;
      readonly latencyMs: number;
    }
  | { readonly kind: 'huge'; readonly bytes: number; readonly latencyMs: number }
  | { readonly kind: 'reset' }
  | { readonly kind: 'hang' };

export interface PortalEvent extends QueueEvent {
  /** `auth_connector` of the row. @default '' (none) */
  readonly connector?: string;
}

export interface ApiTime {
  readonly start: number;
  readonly finish: number;
  readonly duration: number;
  readonly processing: number;
  readonly date_start: string;
  readonly date_finish: string;
  /** Only while the operating-time limiter is active for the method. */
  readonly operating?: number;
  readonly operating_reset_at?: number;
}

/** `auth_connector` of a request's (lower-cased) parameters, trimmed; undefined when absent. */
function connectorParam(params: Readonly<Record<string, unknown>>): string | undefined {
  const raw = params['auth_connector'];
  return raw === undefined ? undefined : phpString(raw).trim();
}

function normaliseMethod(raw: string): string {
  return raw
    .trim()
    .toLowerCase()
    .replace(/\.json$/, '');
}

export class SimPortal implements MethodHost, OAuthApp {
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
  private rateLimit: RateLimitOptions | null = null;
  /** Leaky buckets by source address: the server keeps one per portal and address. */
  private readonly buckets = new Map<string, LeakyBucket>();
  private operating: OperatingMeter | null = null;

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
    if (settings.rateLimit !== undefined) {
      this.rateLimit = settings.rateLimit;
      this.buckets.clear();
    }
    if (settings.operatingLimit !== undefined) {
      this.operating =
        settings.operatingLimit === null
          ? null
          : new OperatingMeter(
              { ...DEFAULT_OPERATING_LIMIT, ...settings.operatingLimit },
              this.clock,
            );
    }
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
  async handle(rawMethod: string, rawParams: Params, source = '127.0.0.1'): Promise<RestReply> {
    const method = normaliseMethod(rawMethod);
    const params = lowerKeys(rawParams);
    const startMs = this.clock.now();
    this.expireReservations();
    if (this.faults.countCallForExpiry()) this.expireAccessTokens();
    let holder = this.oauth.holderOf(this.id, params['auth']);
    const transport = this.faults.transport(method);
    if (transport === 'reset' || transport === 'hang') {
      this.record(method, holder, false, 0);
      return { kind: transport };
    }
    const latencyMs = this.faults.latencyMs(method);
    const commands: JournalEntry[] = [];
    let reply: RestReply;
    try {
      if (transport === 'error') throw apiErrors.internal();
      if (this.overload) throw apiErrors.overload();
      if (!this.takeFromBucket(source)) throw apiErrors.queryLimit();
      const forced = this.faults.forcedError(method);
      if (forced !== null) throw forced;
      const auth = this.oauth.authenticate(this.id, params['auth']);
      if (!auth.ok) throw auth.error;
      holder = auth.authorization.holder;
      // `auth_connector` is auth data: read from the top level of the HTTP request only.
      const connector = connectorParam(params);
      if (connector !== undefined && connector !== '' && !this.connectorsAllowed) {
        throw apiErrors.wrongLicense();
      }
      const outcome =
        method === 'batch'
          ? await this.runBatchCall(params, auth.authorization, connector, startMs, commands)
          : await this.runCommand(method, params, auth.authorization, connector, false);
      if (!outcome.ok) throw outcome.error;
      reply = this.successReply(method, outcome.output, outcome.time, latencyMs);
    } catch (error) {
      const apiError = this.asApiError(error);
      reply = {
        kind: 'body',
        status: apiError.status,
        text: JSON.stringify(apiError.toJSON()),
        latencyMs,
      };
    }
    this.journal.record({
      ...this.entry(method, holder, false, reply.kind === 'body' ? reply.status : 200),
      params: Object.fromEntries(Object.entries(params).filter(([key]) => key !== 'auth')),
    });
    for (const entry of commands) this.journal.record(entry);
    return reply;
  }

  /** One request from `source` into its bucket; false when the bucket is full. */
  private takeFromBucket(source: string): boolean {
    if (this.rateLimit === null) return true;
    let bucket = this.buckets.get(source);
    if (bucket === undefined) {
      if (this.buckets.size >= 1024) {
        // Forget drained buckets so that many addresses cannot grow the map without end.
        for (const [address, old] of this.buckets)
          if (old.current() === 0) this.buckets.delete(address);
      }
      bucket = new LeakyBucket(this.rateLimit, this.clock);
      this.buckets.set(source, bucket);
    }
    return bucket.tryTake();
  }

  private async runBatchCall(
    params: Readonly<Record<string, unknown>>,
    authorization: Authorization,
    connector: string | undefined,
    startMs: number,
    journal: JournalEntry[],
  ): Promise<CommandOutcome> {
    // Commands run one after another: the batch takes the sum of their server time.
    let processing = 0;
    const output = await runBatch(params, async (rawMethod, commandParams) => {
      const method = normaliseMethod(rawMethod);
      // Every command runs with the batch request's auth data, its auth_connector included.
      const outcome = await this.runCommand(method, commandParams, authorization, connector, true);
      if (outcome.ok) processing += (outcome.time as ApiTime).processing;
      journal.push({
        ...this.entry(method, authorization.holder, true, outcome.ok ? 200 : outcome.error.status),
        params: commandParams,
      });
      return outcome;
    });
    return { ok: true, output, time: this.timeOf(startMs, processing, 'batch') };
  }

  /** One method call, direct or inside a batch; never throws. */
  private async runCommand(
    method: string,
    params: Readonly<Record<string, unknown>>,
    authorization: Authorization,
    authConnector: string | undefined,
    viaBatch: boolean,
  ): Promise<CommandOutcome> {
    const startMs = this.clock.now();
    try {
      if (
        viaBatch &&
        (method === 'batch' || (method === 'event.offline.list' && !this.batchAllowed))
      ) {
        throw apiErrors.batchMethodNotAllowed();
      }
      const spec = METHODS.get(method);
      if (spec === undefined) throw apiErrors.methodNotFound();
      if (viaBatch) {
        const forced = this.faults.forcedError(method);
        if (forced !== null) throw forced;
      }
      if (this.operating?.usage(method).blocked === true) throw apiErrors.operatingLimit(method);
      if (spec.adminOnly && !authorization.admin) throw apiErrors.accessDenied();
      const t0 = performance.now();
      let output: MethodOutput | undefined;
      let processing = 0;
      try {
        // with a list backend, processing is the database's time for the command's queries
        output = await spec.run({
          host: this,
          params: lowerKeys(params),
          authorization,
          authConnector,
        });
      } finally {
        // `time.processing` is the call's server time by the cost model (measured + modelled).
        const measured = (performance.now() - t0) / 1000;
        processing = this.operating?.cost(measured, output?.rowsExamined ?? 0) ?? measured;
        this.operating?.charge(method, processing);
      }
      return { ok: true, output, time: this.timeOf(startMs, processing, method) };
    } catch (error) {
      return { ok: false, error: this.asApiError(error) };
    }
  }

  private successReply(
    method: string,
    output: MethodOutput,
    time: unknown,
    latencyMs: number,
  ): RestReply {
    const body: Record<string, unknown> = { result: output.result };
    if (output.total !== undefined) body['total'] = output.total;
    if (output.next !== undefined) body['next'] = output.next;
    body['time'] = time;
    const fault = this.faults.body(method);
    if (fault === 'huge')
      return { kind: 'huge', bytes: this.faults.settings.hugeBodyBytes, latencyMs };
    const text = JSON.stringify(body);
    if (fault === 'malformed') {
      return {
        kind: 'body',
        status: 200,
        text: text.slice(0, Math.max(1, text.length >> 1)),
        latencyMs,
      };
    }
    return { kind: 'body', status: 200, text, latencyMs };
  }

  private timeOf(startMs: number, processingSec: number, method: string): ApiTime {
    const finishMs = Math.max(this.clock.now(), startMs + processingSec * 1000);
    const usage = this.operating?.usage(method);
    const time: ApiTime = {
      start: startMs / 1000,
      finish: finishMs / 1000,
      duration: (finishMs - startMs) / 1000,
      processing: processingSec,
      date_start: formatIso(startMs, this.offsetMinutes),
      date_finish: formatIso(finishMs, this.offsetMinutes),
    };
    // The operating figures appear only while the limiter is active for the method.
    if (usage === undefined || !usage.active) return time;
    return {
      ...time,
      operating: Math.round(usage.operating * 1e6) / 1e6,
      operating_reset_at: usage.resetAt,
    };
  }

  private asApiError(error: unknown): SimApiError {
    if (error instanceof SimApiError) return error;
    this.lastInternalError = error;
    return apiErrors.internal();
  }

  private expireReservations(): void {
    const now = this.clock.now();
    for (const queue of this.queues.values()) queue.expire(now);
  }

  private entry(
    method: string,
    holder: string | null,
    viaBatch: boolean,
    status: number,
  ): JournalEntry {
    return { portal: this.id, method, holder, viaBatch, status, at: this.clock.now() };
  }

  private record(method: string, holder: string | null, viaBatch: boolean, status: number): void {
    this.journal.record(this.entry(method, holder, viaBatch, status));
  }
}

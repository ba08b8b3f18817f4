/**
 * The way every REST call to a simulated portal goes, as the real server orders it:
 * transport faults → overload → rate bucket → forced error → token → `auth_connector` licence →
 * method → operating time → administrator check → handler → body faults; inside a batch the
 * steps from "method" on run per command. Also the `time` object of each answer (its processing
 * time by the portal's cost model) and the journal entries of the call and its commands.
 */
import { performance } from 'node:perf_hooks';
import { runBatch } from './batch.js';
import type { CommandOutcome } from './batch.js';
import type { Clock } from './clock.js';
import { formatIso } from './dates.js';
import { SimApiError, apiErrors } from './errors.js';
import type { Journal, JournalEntry } from './journal.js';
import { METHODS } from './methods.js';
import type { MethodHost, MethodOutput } from './methods.js';
import type { Authorization, OAuthServer } from './oauth.js';
import { lowerKeys, phpString } from './params.js';
import type { Params } from './params.js';
import type { PortalLimits } from './portalLimits.js';

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

interface ApiTime {
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

/** What the pipeline reads of its portal besides what the handlers do. */
export interface RestPortal extends MethodHost {
  readonly id: string;
  readonly overload: boolean;
  readonly batchAllowed: boolean;
  readonly connectorsAllowed: boolean;
  readonly journal: Journal;
  /** Set to what a handler threw unexpectedly (answered as 500). */
  lastInternalError: unknown;
  /** Runs each queue's cleanup job if due. */
  expireReservations(): void;
  expireAccessTokens(): void;
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

export class RestPipeline {
  constructor(
    private readonly portal: RestPortal,
    private readonly clock: Clock,
    private readonly oauth: OAuthServer,
    private readonly limits: PortalLimits,
  ) {}

  /**
   * Handles `<restUrl><method>` with its parameters (query and body merged), sent from
   * `source` (the client's address: the rate bucket is kept per address).
   */
  async handle(rawMethod: string, rawParams: Params, source: string): Promise<RestReply> {
    const { portal } = this;
    const method = normaliseMethod(rawMethod);
    const params = lowerKeys(rawParams);
    const startMs = this.clock.now();
    portal.expireReservations();
    if (portal.faults.countCallForExpiry()) portal.expireAccessTokens();
    let holder = this.oauth.holderOf(portal.id, params['auth']);
    const transport = portal.faults.transport(method);
    if (transport === 'reset' || transport === 'hang') {
      portal.journal.record(this.entry(method, holder, false, 0));
      return { kind: transport };
    }
    const latencyMs = portal.faults.latencyMs(method);
    const commands: JournalEntry[] = [];
    let reply: RestReply;
    try {
      if (transport === 'error') throw apiErrors.internal();
      const authorization = this.admit(method, params, source);
      holder = authorization.holder;
      const connector = this.connectorOf(params);
      const outcome =
        method === 'batch'
          ? await this.runBatchCall(params, authorization, connector, startMs, commands)
          : await this.runCommand(method, params, authorization, connector, false);
      if (!outcome.ok) throw outcome.error;
      reply = this.successReply(method, outcome.output, outcome.time, latencyMs);
    } catch (error) {
      reply = this.errorReply(error, latencyMs);
    }
    portal.journal.record({
      ...this.entry(method, holder, false, reply.kind === 'body' ? reply.status : 200),
      params: Object.fromEntries(Object.entries(params).filter(([key]) => key !== 'auth')),
    });
    for (const entry of commands) portal.journal.record(entry);
    return reply;
  }

  /** The checks before the method: overload, rate bucket, forced error, token. Throws. */
  private admit(
    method: string,
    params: Readonly<Record<string, unknown>>,
    source: string,
  ): Authorization {
    if (this.portal.overload) throw apiErrors.overload();
    if (!this.limits.takeFromBucket(source)) throw apiErrors.queryLimit();
    const forced = this.portal.faults.forcedError(method);
    if (forced !== null) throw forced;
    const auth = this.oauth.authenticate(this.portal.id, params['auth']);
    if (!auth.ok) throw auth.error;
    return auth.authorization;
  }

  /**
   * `auth_connector` is auth data: read from the top level of the HTTP request only. A
   * non-empty one on a plan without connectors throws.
   */
  private connectorOf(params: Readonly<Record<string, unknown>>): string | undefined {
    const connector = connectorParam(params);
    if (connector !== undefined && connector !== '' && !this.portal.connectorsAllowed) {
      throw apiErrors.wrongLicense();
    }
    return connector;
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
    const { limits } = this;
    try {
      if (
        viaBatch &&
        (method === 'batch' || (method === 'event.offline.list' && !this.portal.batchAllowed))
      ) {
        throw apiErrors.batchMethodNotAllowed();
      }
      const spec = METHODS.get(method);
      if (spec === undefined) throw apiErrors.methodNotFound();
      if (viaBatch) {
        const forced = this.portal.faults.forcedError(method);
        if (forced !== null) throw forced;
      }
      if (limits.operating?.usage(method).blocked === true) throw apiErrors.operatingLimit(method);
      if (spec.adminOnly && !authorization.admin) throw apiErrors.accessDenied();
      const t0 = performance.now();
      let output: MethodOutput | undefined;
      let processing = 0;
      try {
        // with a list backend, processing is the database's time for the command's queries
        output = await spec.run({
          host: this.portal,
          params: lowerKeys(params),
          authorization,
          authConnector,
        });
      } finally {
        // `time.processing` is the call's server time by the cost model (measured + modelled).
        const measured = (performance.now() - t0) / 1000;
        // (the meter read again: `configure` may have replaced it while the handler ran)
        processing = limits.operating?.cost(measured, output?.rowsExamined ?? 0) ?? measured;
        limits.operating?.charge(method, processing);
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
    const { faults } = this.portal;
    const fault = faults.body(method);
    if (fault === 'huge') return { kind: 'huge', bytes: faults.settings.hugeBodyBytes, latencyMs };
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

  private errorReply(error: unknown, latencyMs: number): RestReply {
    const apiError = this.asApiError(error);
    return {
      kind: 'body',
      status: apiError.status,
      text: JSON.stringify(apiError.toJSON()),
      latencyMs,
    };
  }

  private timeOf(startMs: number, processingSec: number, method: string): ApiTime {
    const finishMs = Math.max(this.clock.now(), startMs + processingSec * 1000);
    const usage = this.limits.operating?.usage(method);
    const { offsetMinutes } = this.portal;
    const time: ApiTime = {
      start: startMs / 1000,
      finish: finishMs / 1000,
      duration: (finishMs - startMs) / 1000,
      processing: processingSec,
      date_start: formatIso(startMs, offsetMinutes),
      date_finish: formatIso(finishMs, offsetMinutes),
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
    this.portal.lastInternalError = error;
    return apiErrors.internal();
  }

  private entry(
    method: string,
    holder: string | null,
    viaBatch: boolean,
    status: number,
  ): JournalEntry {
    return { portal: this.portal.id, method, holder, viaBatch, status, at: this.clock.now() };
  }
}

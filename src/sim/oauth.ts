/**
 * The OAuth server (oauth.bitrix.info) of all simulated portals: authorizations, rotating
 * refresh tokens, access-token expiry. An authorization is one administrator's consent; each
 * yields an independent token pair, and each pair carries the label of its holder
 * ('monitor', 'consumer'...) through every rotation, for the journal.
 */
import type { Clock } from './clock.js';
import type { SimApiError } from './errors.js';
import { apiErrors } from './errors.js';
import type { TokenEndpointFault } from './faults.js';
import { phpString } from './params.js';
import { secureHex } from './random.js';

/** What the OAuth server needs to know of a portal's application. */
export interface OAuthApp {
  readonly portalId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly accessTokenTtlSec: number;
  /** The portal's REST endpoint, `client_endpoint` of the answer. */
  readonly restUrl: string;
  readonly domain: string;
  readonly memberId: string;
  readonly scope: string;
  /** Application status letter (`L` local, `P` paid, `F` free...). */
  readonly appStatus: string;
  tokenEndpointFault(): TokenEndpointFault;
  /** An error the token endpoint must answer for this app's grants, or null. */
  tokenEndpointError(): SimApiError | null;
}

export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Unix seconds when the access token expires. */
  readonly expires: number;
}

export interface AuthorizeOptions {
  /** An administrator's authorization; a non-admin pair gets 403 ACCESS_DENIED from event.*. @default true */
  readonly admin?: boolean;
  /** @default 1 for an administrator, else 2 */
  readonly userId?: number;
}

/** Who consents on the authorize page (an administrator by default). */
export interface ConsentOptions extends AuthorizeOptions {
  /** Label of the new chain's holder in the journal. @default 'monitor' */
  readonly holder?: string;
}

interface PendingCode {
  readonly portalId: string;
  readonly holder: string;
  readonly options: AuthorizeOptions;
  readonly expiresMs: number;
}

export interface Authorization {
  readonly portalId: string;
  readonly holder: string;
  readonly admin: boolean;
  readonly userId: number;
}

interface Grant extends Authorization {
  refreshToken: string | null;
  refreshExpiresMs: number;
  accessTokens: string[];
}

interface AccessEntry {
  readonly grant: Grant;
  expiresMs: number;
}

export type OAuthReply =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'html'; readonly status: number; readonly body: string }
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'reset' }
  | { readonly kind: 'hang' };

const REFRESH_TOKEN_TTL_SEC = 180 * 86_400;
/** An authorization code lives this long and serves once. */
export const AUTHORIZATION_CODE_TTL_SEC = 30;
/** Well-formed tokens: an unknown one is `invalid_token`, anything else `NO_AUTH_FOUND`. */
const TOKEN_SHAPE = /^[0-9a-z]{32,128}$/i;

export type AuthResult =
  | { readonly ok: true; readonly authorization: Authorization }
  | { readonly ok: false; readonly error: SimApiError; readonly holder: string | null };

function oauthError(status: number, error: string, description: string): OAuthReply {
  return { kind: 'json', status, body: { error, error_description: description } };
}

function invalidGrant(byCode: boolean): OAuthReply {
  return byCode
    ? oauthError(400, 'invalid_grant', 'Authorization code is invalid, expired or already used')
    : oauthError(400, 'invalid_grant', 'Refresh token is invalid, expired or already used');
}

function invalidClient(): OAuthReply {
  return oauthError(400, 'invalid_client', 'Client is not found or the secret is wrong');
}

export class OAuthServer {
  private readonly apps = new Map<string, OAuthApp>();
  private readonly clientIds = new Map<string, number>();
  private readonly accessIndex = new Map<string, AccessEntry>();
  private readonly refreshIndex = new Map<string, Grant>();
  private readonly grantsByPortal = new Map<string, Set<Grant>>();
  private readonly codes = new Map<string, PendingCode>();
  /**
   * Pairs issued and refresh tokens (or codes) refused with `invalid_grant` since the start,
   * counted at the server: what the scale targets call "refreshes refused".
   */
  readonly answers = { granted: 0, refused: 0 };

  /** @param serverEndpoint `server_endpoint` of the answers (`<server url>/rest/`). */
  constructor(
    private readonly clock: Clock,
    private readonly serverEndpoint: string,
  ) {}

  register(app: OAuthApp): void {
    this.apps.set(app.portalId, app);
    this.clientIds.set(app.clientId, (this.clientIds.get(app.clientId) ?? 0) + 1);
  }

  unregister(portalId: string): void {
    const app = this.apps.get(portalId);
    if (app === undefined) return;
    this.apps.delete(portalId);
    const left = (this.clientIds.get(app.clientId) ?? 1) - 1;
    if (left > 0) this.clientIds.set(app.clientId, left);
    else this.clientIds.delete(app.clientId);
    for (const grant of this.grantsByPortal.get(portalId) ?? []) this.forget(grant);
    this.grantsByPortal.delete(portalId);
  }

  /** An administrator (by default) authorizes the application: a new, independent pair. */
  authorize(portalId: string, holder: string, options: AuthorizeOptions = {}): TokenPair {
    const app = this.requireApp(portalId);
    return this.issue(this.newGrant(portalId, holder, options), app);
  }

  /** A new chain of pairs (one authorization), not yet holding tokens. */
  private newGrant(portalId: string, holder: string, options: AuthorizeOptions): Grant {
    const admin = options.admin ?? true;
    const grant: Grant = {
      portalId,
      holder,
      admin,
      userId: options.userId ?? (admin ? 1 : 2),
      refreshToken: null,
      refreshExpiresMs: 0,
      accessTokens: [],
    };
    let grants = this.grantsByPortal.get(portalId);
    if (grants === undefined) {
      grants = new Set();
      this.grantsByPortal.set(portalId, grants);
    }
    grants.add(grant);
    return grant;
  }

  /** Checks the `auth` parameter of a REST call to `portalId`. */
  authenticate(portalId: string, token: unknown): AuthResult {
    const text = phpString(token);
    if (text === '' || !TOKEN_SHAPE.test(text)) {
      return { ok: false, error: apiErrors.noAuth(), holder: null };
    }
    const entry = this.accessIndex.get(text);
    if (entry === undefined || entry.grant.portalId !== portalId) {
      return { ok: false, error: apiErrors.invalidToken(), holder: null };
    }
    if (this.clock.now() >= entry.expiresMs) {
      return { ok: false, error: apiErrors.expiredToken(), holder: entry.grant.holder };
    }
    return { ok: true, authorization: entry.grant };
  }

  /** Holder label of an access token of `portalId`, expired or not (journal). */
  holderOf(portalId: string, token: unknown): string | null {
    const entry = this.accessIndex.get(phpString(token));
    return entry !== undefined && entry.grant.portalId === portalId ? entry.grant.holder : null;
  }

  /** Expires every access token of the portal (of one holder when given) now. */
  expireAccessTokens(portalId: string, holder?: string): void {
    const now = this.clock.now();
    for (const grant of this.grantsByPortal.get(portalId) ?? []) {
      if (holder !== undefined && grant.holder !== holder) continue;
      for (const token of grant.accessTokens) {
        const entry = this.accessIndex.get(token);
        if (entry !== undefined) entry.expiresMs = Math.min(entry.expiresMs, now);
      }
    }
  }

  /** Revokes refresh tokens (the app must be re-authorized); access tokens live on until they expire. */
  revokeRefreshTokens(portalId: string, holder?: string): void {
    for (const grant of this.grantsByPortal.get(portalId) ?? []) {
      if (holder !== undefined && grant.holder !== holder) continue;
      if (grant.refreshToken !== null) this.refreshIndex.delete(grant.refreshToken);
      grant.refreshToken = null;
    }
  }

  /**
   * An administrator's consent (by default) on the portal's authorize page: a one-time code
   * that `grant_type=authorization_code` turns into a new, independent pair within 30 s.
   */
  issueCode(portalId: string, options: ConsentOptions = {}): string {
    this.requireApp(portalId);
    const now = this.clock.now();
    for (const [code, pending] of this.codes) if (pending.expiresMs <= now) this.codes.delete(code);
    const code = secureHex(32);
    this.codes.set(code, {
      portalId,
      holder: options.holder ?? 'monitor',
      options,
      expiresMs: now + AUTHORIZATION_CODE_TTL_SEC * 1000,
    });
    return code;
  }

  /**
   * `GET|POST /oauth/token/`: `grant_type=refresh_token&client_id&client_secret&refresh_token`
   * or `grant_type=authorization_code&client_id&client_secret&code`.
   */
  handleToken(params: Readonly<Record<string, unknown>>): OAuthReply {
    const reply = this.answerToken(params);
    if (reply.kind === 'json') {
      const body = reply.body as { error?: unknown; access_token?: unknown };
      if (body.error === 'invalid_grant') this.answers.refused += 1;
      if (typeof body.access_token === 'string') this.answers.granted += 1;
    }
    return reply;
  }

  private answerToken(params: Readonly<Record<string, unknown>>): OAuthReply {
    const grantType = phpString(params['grant_type']);
    const clientId = phpString(params['client_id']);
    const clientSecret = phpString(params['client_secret']);
    const byCode = grantType === 'authorization_code';
    const secret = phpString(params[byCode ? 'code' : 'refresh_token']);
    const pending = byCode ? this.codes.get(secret) : undefined;
    const grant = byCode ? undefined : this.refreshIndex.get(secret);
    const portalId = pending?.portalId ?? grant?.portalId;
    const app = portalId === undefined ? undefined : this.apps.get(portalId);
    const fault = app?.tokenEndpointFault() ?? 'up';
    if (fault === 'reset' || fault === 'hang') return { kind: fault };
    if (fault === 'error') {
      return {
        kind: 'html',
        status: 500,
        body: '<html><body><h1>500 Internal Server Error</h1></body></html>',
      };
    }
    if (grantType === '') return oauthError(400, 'invalid_request', 'grant_type is required');
    if (grantType !== 'refresh_token' && !byCode) {
      return oauthError(400, 'invalid_request', 'Unsupported grant_type');
    }
    if (clientId === '' || secret === '') {
      const what = byCode ? 'code' : 'refresh_token';
      return oauthError(400, 'invalid_request', `client_id and ${what} are required`);
    }
    const expired = pending !== undefined && this.clock.now() >= pending.expiresMs;
    if (app === undefined || expired) {
      if (expired) this.codes.delete(secret);
      return this.clientIds.has(clientId) ? invalidGrant(byCode) : invalidClient();
    }
    if (clientId !== app.clientId || clientSecret !== app.clientSecret) return invalidClient();
    if (grant !== undefined && this.clock.now() >= grant.refreshExpiresMs) {
      this.refreshIndex.delete(secret);
      grant.refreshToken = null;
      return invalidGrant(false);
    }
    const refused = app.tokenEndpointError();
    if (refused !== null) return oauthError(refused.status, refused.code, refused.description);
    let chain = grant;
    if (pending !== undefined) {
      this.codes.delete(secret); // a code serves once
      chain = this.newGrant(pending.portalId, pending.holder, pending.options);
    }
    if (chain === undefined) return invalidGrant(byCode);
    const pair = this.issue(chain, app);
    return {
      kind: 'json',
      status: 200,
      body: {
        access_token: pair.accessToken,
        refresh_token: pair.refreshToken,
        expires: pair.expires,
        expires_in: app.accessTokenTtlSec,
        client_endpoint: app.restUrl,
        server_endpoint: this.serverEndpoint,
        domain: app.domain,
        member_id: app.memberId,
        scope: app.scope,
        status: app.appStatus,
        user_id: chain.userId,
      },
    };
  }

  /** New access and refresh tokens for a grant; the previous refresh token stops working. */
  private issue(grant: Grant, app: OAuthApp): TokenPair {
    const now = this.clock.now();
    if (grant.refreshToken !== null) this.refreshIndex.delete(grant.refreshToken);
    // The access token issued with the old pair stops working at the refresh too. The server
    // no longer knows it, so it answers like any unknown token: 401 invalid_token (inferred:
    // `expired_token` is kept for a token that has run out its time).
    for (const token of grant.accessTokens) this.accessIndex.delete(token);
    grant.accessTokens = [];
    const accessToken = secureHex(32);
    const refreshToken = secureHex(32);
    const expiresMs = now + app.accessTokenTtlSec * 1000;
    this.accessIndex.set(accessToken, { grant, expiresMs });
    grant.accessTokens.push(accessToken);
    grant.refreshToken = refreshToken;
    grant.refreshExpiresMs = now + REFRESH_TOKEN_TTL_SEC * 1000;
    this.refreshIndex.set(refreshToken, grant);
    return { accessToken, refreshToken, expires: Math.floor(expiresMs / 1000) };
  }

  private forget(grant: Grant): void {
    for (const token of grant.accessTokens) this.accessIndex.delete(token);
    if (grant.refreshToken !== null) this.refreshIndex.delete(grant.refreshToken);
  }

  private requireApp(portalId: string): OAuthApp {
    const app = this.apps.get(portalId);
    if (app === undefined) throw new Error(`Unknown portal: ${portalId}`);
    return app;
  }
}

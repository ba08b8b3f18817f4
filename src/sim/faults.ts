/**
 * Faults a test can switch on at run time, per portal. Random ones are drawn from the injected
 * PRNG, so a seeded run replays the same faults in the same places.
 */
import { SimApiError } from './errors.js';
import type { Random } from './random.js';

/** Ways `event.offline.list` answers (direct or in a batch) can have fields of the wrong type. */
export const WRONG_TYPE_FAULTS = [
  'totalObject',
  'totalString',
  'resultObject',
  'rowIdNull',
  'errorBoolean',
  'timestampGarbage',
] as const;
export type WrongTypeFault = (typeof WRONG_TYPE_FAULTS)[number];

export interface ForcedError {
  readonly status: number;
  readonly code: string;
  readonly description: string;
  /** Only this method (lower case); absent = every method, batch commands included. */
  readonly method?: string;
}

/**
 * Refusals of the real server a test can force (`forcedError`, `tokenEndpointError`), with
 * the status and code docs/bitrix24-api.md gives. Descriptions are close to the real texts where known.
 */
export const FORCED_ERRORS = {
  /** 401: the portal's plan has no REST API (free plan); not a token problem. */
  restOnlyOnCommercialPlans: {
    status: 401,
    code: 'ACCESS_DENIED',
    description: 'REST API is available only on commercial plans.',
  },
  /** 401: the portal could not reach the authorization server to check the token. */
  connectionError: {
    status: 401,
    code: 'CONNECTION_ERROR',
    description: 'Error connecting to authorization server',
  },
  /** 401: the application is not installed (any more) on the portal. */
  applicationNotFound: {
    status: 401,
    code: 'APPLICATION_NOT_FOUND',
    description: 'Application not found',
  },
  /** 401: the token's user could not be authorized (deactivated, say). */
  authorizationError: {
    status: 401,
    code: 'authorization_error',
    description: 'Unable to authorize user',
  },
  /** 401: the token's user has no access to the application. */
  userAccessError: {
    status: 401,
    code: 'user_access_error',
    description: 'The user does not have access to the application.',
  },
  /** 403: the authorizing user is not an administrator (event.* need one). */
  notAdministrator: {
    status: 403,
    code: 'ACCESS_DENIED',
    description: 'Access denied! Administrator access required',
  },
  /** 403: a webhook or another auth type the method does not allow. */
  wrongAuthType: {
    status: 403,
    code: 'WRONG_AUTH_TYPE',
    description: 'Current authorization type is denied for this method',
  },
  /** 403: the plan lacks a feature (connectors: set `connectorsAllowed: false` instead). */
  wrongLicense: {
    status: 403,
    code: 'WRONG_LICENSE',
    description: 'Your Bitrix24 plan does not include this feature',
  },
  /**
   * From the OAuth server (`tokenEndpointError`): the application's subscription has lapsed.
   * The docs give no HTTP status; 402 is a guess, so a client must go by the code.
   */
  paymentRequired: {
    status: 402,
    code: 'PAYMENT_REQUIRED',
    description: 'Payment required: the application subscription has expired',
  },
} as const satisfies Record<string, ForcedError>;

export type TokenEndpointFault = 'up' | 'error' | 'reset' | 'hang';

export interface FaultSettings {
  /** Delay before each REST answer: fixed ms, or a [min, max] range. @default 0 */
  readonly latencyMs: number | readonly [number, number];
  /** Share of requests answered 500 INTERNAL_SERVER_ERROR without being processed. @default 0 */
  readonly errorRate: number;
  /** Share of requests whose connection is reset (TCP RST) without an answer. @default 0 */
  readonly resetRate: number;
  /** Share of requests accepted and never answered. @default 0 */
  readonly hangRate: number;
  /** Share of answers whose JSON is cut in the middle (status 200). @default 0 */
  readonly malformedJsonRate: number;
  /** Share of answers replaced by a huge valid JSON body. @default 0 */
  readonly hugeBodyRate: number;
  /** @default 20 MiB */
  readonly hugeBodyBytes: number;
  /** Applied to every `event.offline.list` answer while set. @default [] */
  readonly wrongTypes: readonly WrongTypeFault[];
  /** Every call (or every call of one method) answers this error. @default null */
  readonly forcedError: ForcedError | null;
  /** The OAuth token endpoint, for refresh tokens of this portal. @default 'up' */
  readonly tokenEndpoint: TokenEndpointFault;
  /**
   * The OAuth token endpoint answers this error (JSON `{error, error_description}`) to every
   * well-formed grant of this portal's app, refresh or authorization code, without rotating
   * anything; e.g. `FORCED_ERRORS.paymentRequired`. `method` is ignored. @default null
   */
  readonly tokenEndpointError: ForcedError | null;
  /** After this many more REST requests, every access token of the portal expires. @default null */
  readonly expireTokensAfterCalls: number | null;
  /** Random faults (rates and latency) hit only these methods; null = all. @default null */
  readonly methods: readonly string[] | null;
}

const NO_FAULTS: FaultSettings = {
  latencyMs: 0,
  errorRate: 0,
  resetRate: 0,
  hangRate: 0,
  malformedJsonRate: 0,
  hugeBodyRate: 0,
  hugeBodyBytes: 20 * 1024 * 1024,
  wrongTypes: [],
  forcedError: null,
  tokenEndpoint: 'up',
  tokenEndpointError: null,
  expireTokensAfterCalls: null,
  methods: null,
};

export type TransportFault = 'reset' | 'hang' | 'error';
export type BodyFault = 'malformed' | 'huge';

export class FaultInjector {
  private current: FaultSettings = NO_FAULTS;
  private callsBeforeExpiry: number | null = null;

  constructor(private readonly random: Random) {}

  get settings(): FaultSettings {
    return this.current;
  }

  /** Changes some settings, keeping the others. */
  set(changes: Partial<FaultSettings>): void {
    this.current = { ...this.current, ...changes };
    if (changes.expireTokensAfterCalls !== undefined) {
      this.callsBeforeExpiry = changes.expireTokensAfterCalls;
    }
  }

  /** Back to no faults. */
  reset(): void {
    this.current = NO_FAULTS;
    this.callsBeforeExpiry = null;
  }

  /** Counts one REST request; true when the access tokens must expire now (once). */
  countCallForExpiry(): boolean {
    if (this.callsBeforeExpiry === null) return false;
    if (this.callsBeforeExpiry > 0) {
      this.callsBeforeExpiry--;
      return false;
    }
    this.callsBeforeExpiry = null;
    this.current = { ...this.current, expireTokensAfterCalls: null };
    return true;
  }

  /** A fault that replaces processing entirely, drawn once per request. */
  transport(method: string): TransportFault | null {
    const { resetRate, hangRate, errorRate } = this.current;
    if (resetRate + hangRate + errorRate <= 0 || !this.applies(method)) return null;
    const draw = this.random();
    if (draw < resetRate) return 'reset';
    if (draw < resetRate + hangRate) return 'hang';
    if (draw < resetRate + hangRate + errorRate) return 'error';
    return null;
  }

  /** A fault of the answer's body, drawn once per answer. */
  body(method: string): BodyFault | null {
    const { malformedJsonRate, hugeBodyRate } = this.current;
    if (malformedJsonRate + hugeBodyRate <= 0 || !this.applies(method)) return null;
    const draw = this.random();
    if (draw < malformedJsonRate) return 'malformed';
    if (draw < malformedJsonRate + hugeBodyRate) return 'huge';
    return null;
  }

  latencyMs(method: string): number {
    const latency = this.current.latencyMs;
    if (!this.applies(method)) return 0;
    if (typeof latency === 'number') return latency;
    const [min, max] = latency;
    return min + this.random() * (max - min);
  }

  forcedError(method: string): SimApiError | null {
    const forced = this.current.forcedError;
    if (forced === null || (forced.method !== undefined && forced.method !== method)) return null;
    return new SimApiError(forced.status, forced.code, forced.description);
  }

  /** Applies the `wrongTypes` faults to an `event.offline.list` answer (a copy). */
  corruptList(answer: ListAnswer): ListAnswer {
    const faults = this.current.wrongTypes;
    if (faults.length === 0) return answer;
    let result: unknown = answer.result;
    let total: unknown = answer.total;
    const rows = Array.isArray(result) ? (result as Record<string, unknown>[]) : [];
    const patchRows = (patch: (row: Record<string, unknown>) => Record<string, unknown>) => {
      result = rows.map(patch);
    };
    for (const fault of faults) {
      switch (fault) {
        case 'totalObject':
          total = { value: answer.total };
          break;
        case 'totalString':
          total = String(answer.total);
          break;
        case 'resultObject':
          result = Object.fromEntries(rows.map((row, index) => [String(index), row]));
          break;
        case 'rowIdNull':
          patchRows((row) => ({ ...row, ID: null }));
          break;
        case 'errorBoolean':
          patchRows((row) => ({ ...row, ERROR: row['ERROR'] === '1' }));
          break;
        case 'timestampGarbage':
          patchRows((row) => ({ ...row, TIMESTAMP_X: 'yesterday-ish' }));
          break;
      }
    }
    return { ...answer, result, total };
  }

  tokenEndpoint(): TokenEndpointFault {
    return this.current.tokenEndpoint;
  }

  private applies(method: string): boolean {
    return this.current.methods === null || this.current.methods.includes(method);
  }
}

export interface ListAnswer {
  readonly result: unknown;
  readonly total?: unknown;
  readonly next?: number;
}

/**
 * One Redis connection shared by every portal's token store of a process (10,000 portals are
 * one connection, not 10,000). Commands fail fast while Redis is away (no offline queue): the
 * monitor then polls on with the pairs it holds. Whether Redis is reachable is tracked here,
 * for the `b24_offline_token_store_up` gauge and one log line per outage.
 *
 * The URL may hold a password: only `display` (no user, no password) is ever shown.
 */
import { Redis } from 'ioredis';

export interface RedisConnectionOptions {
  /** Told when Redis becomes unreachable (with an error code) or reachable again. */
  readonly onChange?: ((up: boolean, code: string | undefined) => void) | undefined;
  /** Per command, and for the first connection. @default 2000 */
  readonly timeoutMs?: number | undefined;
}

export class RedisConnection {
  readonly client: Redis;
  /** `redis://host:port/db`, without credentials: for logs and messages. */
  readonly display: string;
  #up = false;
  #everUp = false;
  /** An outage was reported and not yet its end. */
  #reportedDown = false;
  #closing = false;
  #lastCode: string | undefined;
  readonly #readyListeners = new Set<() => void>();
  readonly #onChange: RedisConnectionOptions['onChange'];
  readonly #timeoutMs: number;

  constructor(url: string, options: RedisConnectionOptions = {}) {
    this.display = displayOf(url);
    this.#onChange = options.onChange;
    this.#timeoutMs = options.timeoutMs ?? 2_000;
    this.client = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: this.#timeoutMs,
      commandTimeout: this.#timeoutMs,
      // reconnect for ever, quickly: pairs rotated meanwhile wait in memory for Redis
      retryStrategy: (times) => Math.min(100 * times, 1_000),
      enableReadyCheck: true,
    });
    this.client.on('ready', () => this.#setUp(true, undefined));
    this.client.on('error', (error: unknown) => this.#setUp(false, errorCodeOf(error)));
    this.client.on('close', () => this.#setUp(false, undefined));
  }

  get up(): boolean {
    return this.#up;
  }

  /** The code of the last connection error (ECONNREFUSED, WRONGPASS...). */
  get lastCode(): string | undefined {
    return this.#lastCode;
  }

  /** Calls `listener` each time Redis becomes reachable again. */
  onReady(listener: () => void): () => void {
    this.#readyListeners.add(listener);
    return () => this.#readyListeners.delete(listener);
  }

  /** Connects on first use and waits (bounded) for it; throws when Redis cannot be reached. */
  async ready(): Promise<void> {
    if (this.client.status === 'ready') return;
    if (this.client.status === 'wait') this.client.connect().catch(() => undefined);
    // once connected (or known to be away), fail at once: polls go on with the pairs held
    if (this.#everUp || this.#reportedDown)
      throw Object.assign(new Error('disconnected'), { code: this.#lastCode ?? 'CLOSED' });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(Object.assign(new Error('timeout'), { code: this.#lastCode ?? 'ETIMEDOUT' }));
      }, this.#timeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#readyListeners.clear();
    if (this.client.status === 'end' || this.client.status === 'wait') {
      this.client.disconnect();
      return;
    }
    await this.client.quit().catch(() => this.client.disconnect());
  }

  #setUp(up: boolean, code: string | undefined): void {
    if (this.#closing) return;
    if (up) {
      const first = !this.#everUp;
      const back = this.#reportedDown;
      this.#up = true;
      this.#everUp = true;
      this.#reportedDown = false;
      if (first || back) this.#onChange?.(true, undefined);
      if (back) for (const listener of this.#readyListeners) listener();
      return;
    }
    this.#up = false;
    this.#lastCode = code ?? this.#lastCode;
    if (!this.#reportedDown) {
      this.#reportedDown = true;
      this.#onChange?.(false, this.#lastCode);
    }
  }
}

/** `redis://host:port/db` of a URL, without user and password. */
function displayOf(url: string): string {
  try {
    const parsed = new URL(url);
    const db = parsed.pathname.replace(/^\//, '') || '0';
    return `${parsed.protocol}//${parsed.hostname}:${parsed.port || '6379'}/${db}`;
  } catch {
    return 'redis://(unparsable URL)';
  }
}

/**
 * A short code for an error of ioredis or the socket: never its message, which could quote the
 * server's words (and a future one a credential).
 */
export function errorCodeOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
    const word = /^([A-Z]{4,20})\b/.exec(error.message)?.[1];
    if (word !== undefined) return word; // WRONGPASS, NOAUTH, LOADING, READONLY...
    if (/timed? ?out/i.test(error.message)) return 'ETIMEDOUT';
  }
  return 'UNAVAILABLE';
}

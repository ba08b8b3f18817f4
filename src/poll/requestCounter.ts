/**
 * Counts the HTTP requests a portal's REST client sends, passing every hook on to the observer
 * it wraps: the composition root hands the client this, and the poller takes the difference of
 * `sent` over a poll as the poll's `requests`.
 */
import type { ClientObserver } from '../b24/types.js';

/** What the poller reads. */
export interface RequestCount {
  readonly sent: number;
}

// Required<>: a hook added to ClientObserver later must be passed on here too, not dropped.
export class RequestCounter implements Required<ClientObserver>, RequestCount {
  sent = 0;
  readonly #inner: ClientObserver;

  constructor(inner: ClientObserver) {
    this.#inner = inner;
  }

  request(method: string): void {
    this.sent += 1;
    this.#inner.request(method);
  }

  restError(method: string, code: string): void {
    this.#inner.restError(method, code);
  }

  operating(method: string, seconds: number): void {
    this.#inner.operating(method, seconds);
  }

  refresh(ok: boolean): void {
    this.#inner.refresh(ok);
  }

  tokenPersistFailed(): void {
    this.#inner.tokenPersistFailed?.();
  }
}

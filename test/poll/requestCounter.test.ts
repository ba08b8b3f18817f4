/**
 * The poll's request count and the metrics both hear the REST client: the counter passes every
 * hook on. Through the monitor: b24_offline_poll_requests, rest_errors, rest_operating_seconds,
 * oauth_refreshes (test/e2e/knownQueue.test.ts), token_file_write_failures
 * (test/hardening/tokenFile.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { ClientObserver } from '../../src/b24/types.js';
import { RequestCounter } from '../../src/poll/requestCounter.js';

function recorder(): { observer: Required<ClientObserver>; heard: unknown[][] } {
  const heard: unknown[][] = [];
  return {
    heard,
    observer: {
      request: (...args) => heard.push(['request', ...args]),
      restError: (...args) => heard.push(['restError', ...args]),
      operating: (...args) => heard.push(['operating', ...args]),
      refresh: (...args) => heard.push(['refresh', ...args]),
      tokenPersistFailed: () => heard.push(['tokenPersistFailed']),
    },
  };
}

describe('RequestCounter', () => {
  it('counts requests and passes every hook on', () => {
    const { observer, heard } = recorder();
    const counter = new RequestCounter(observer);

    counter.request('batch');
    counter.restError('batch', 'QUERY_LIMIT_EXCEEDED');
    counter.request('event.offline.list');
    counter.operating('event.offline.list', 1.5);
    counter.refresh(false);
    counter.tokenPersistFailed();

    expect(counter.sent).toBe(2);
    expect(heard).toEqual([
      ['request', 'batch'],
      ['restError', 'batch', 'QUERY_LIMIT_EXCEEDED'],
      ['request', 'event.offline.list'],
      ['operating', 'event.offline.list', 1.5],
      ['refresh', false],
      ['tokenPersistFailed'],
    ]);
  });

  it('passes a token-file failure on only to an observer that takes it', () => {
    const { observer, heard } = recorder();
    const counter = new RequestCounter({
      request: observer.request,
      restError: observer.restError,
      operating: observer.operating,
      refresh: observer.refresh,
    });

    counter.tokenPersistFailed();

    expect(heard).toEqual([]);
  });
});

/** What `auth` says after its check poll: the summary, or what is wrong and what to do. */
import { TokenStoreError, type MonitorError } from '../b24/errors.js';
import type { PortalConfig } from '../config/types.js';
import type { PollReport } from '../poll/poller.js';
import { countsByStatus } from '../poll/snapshot.js';

const AUTHORIZE_AGAIN = 'Run auth again and authorize as an administrator of the portal.';
const CHECK_AGAIN =
  'The pair is saved and stays valid: check again with `npx b24-offline-monitor once`.';

function apiCodeOf(error: MonitorError): { code: string | undefined; status: number | undefined } {
  const code = 'apiCode' in error && typeof error.apiCode === 'string' ? error.apiCode : undefined;
  const status =
    'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : undefined;
  return { code, status };
}

/** One paragraph: what the failed check poll means for this pair, and the fix. */
export function explainPollFailure(error: MonitorError | undefined, portal: PortalConfig): string {
  if (error === undefined) return 'the check poll did not run.';
  if (error instanceof TokenStoreError) return `the check poll failed: ${error.message}`;
  const { code, status } = apiCodeOf(error);
  const head = `the pair is saved, but the check poll failed (${code ?? error.code}):`;
  switch (code) {
    case 'ACCESS_DENIED':
      return status === 401
        ? `${head} the portal's plan has no REST API (commercial plans only).`
        : `${head} the user who authorized is not an administrator of the portal, and only an administrator may read the queue. ${AUTHORIZE_AGAIN}`;
    case 'WRONG_LICENSE':
      return portal.authConnector === undefined
        ? `${head} the portal's plan lacks a feature the monitor needs.`
        : `${head} the portal's plan does not allow connectors (auth_connector ${portal.authConnector}): they need the Professional plan.`;
    case 'WRONG_AUTH_TYPE':
      return `${head} this method does not accept this kind of authorization; the monitor needs the OAuth application that bound the offline events.`;
    case 'insufficient_scope':
      return `${head} the application lacks a scope the queue needs.`;
    case 'user_access_error':
    case 'INVALID_CREDENTIALS':
      return `${head} the user who authorized has no access to the application. ${AUTHORIZE_AGAIN}`;
    case 'PAYMENT_REQUIRED':
      return `${head} the application's subscription has lapsed: renew it, then run auth again.`;
    default:
      break;
  }
  if (error.reason === 'auth') {
    return `${head} the portal refused the new pair. Is B24_PORTAL_URL (${portal.restUrl}) the portal the administrator authorized on? ${error.message}`;
  }
  return `${head} ${error.message} ${CHECK_AGAIN}`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The summary of a successful authorization and check poll. */
export function formatSummary(report: PollReport, portal: PortalConfig): string {
  const snapshot = report.snapshot;
  const counts = report.counts ?? (snapshot === undefined ? undefined : countsByStatus(snapshot));
  const names = snapshot === undefined ? [] : [...snapshot.groups.keys()].sort();
  const queue =
    portal.authConnector === undefined
      ? 'the queue without connector'
      : `the queue of connector ${portal.authConnector} (connectors allowed on this plan)`;
  const lines = [
    `Checked with one poll of ${portal.name} (${report.strategy ?? 'poll'}, ${plural(report.requests, 'request', 'requests')}, ${report.durationMs} ms): the user is an administrator.`,
    `  watching:    ${queue}`,
    `  depth:       ${snapshot?.depth ?? '-'}` +
      (counts === undefined
        ? ''
        : ` (queued ${counts.queued}, reserved ${counts.reserved}, error ${counts.error})`),
    names.length === 0
      ? '  event names: none: no offline handler is bound for this application (event.bind with event_type=offline), so the queue stays empty'
      : `  event names: ${names.length > 20 ? `${names.slice(0, 20).join(', ')}, … (${names.length})` : names.join(', ')}`,
    `  token pair:  ${portal.tokenFile}`,
    '',
    'Next: start the monitor with the same settings (restart it if it is running):',
    '  npm start        (or: npx b24-offline-monitor start)',
  ];
  return lines.join('\n');
}

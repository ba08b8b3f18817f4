/** What `auth` says after its check poll: the summary, or what is wrong and what to do. */
import { TokenStoreError, type MonitorError } from '../b24/errors.js';
import { adviceFor } from '../poll/advice.js';
import type { PortalConfig } from '../config/types.js';
import type { PollReport } from '../poll/report.js';
import { countsByStatus } from '../queue/snapshot.js';

const AS_ADMINISTRATOR =
  'Run auth again and authorize as an administrator of the portal: only an administrator may read the queue.';
const CHECK_AGAIN =
  'The pair is saved and stays valid: check again with `npx b24-offline-monitor once`.';
/** Failures that say nothing against the new pair: the next poll may well succeed. */
const PASSING = new Set([
  'rate_limit',
  'operating_limit',
  'timeout',
  'network',
  'api_error',
  'bad_response',
]);

/** One paragraph: what the failed check poll means for this pair, and the fix. */
export function explainPollFailure(error: MonitorError | undefined, portal: PortalConfig): string {
  if (error === undefined) return 'the check poll did not run.';
  if (error instanceof TokenStoreError) return `the check poll failed: ${error.message}`;
  const apiCode =
    'apiCode' in error && typeof error.apiCode === 'string' ? error.apiCode : error.code;
  const status =
    'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 0;
  const head = `the pair is saved, but the check poll failed (${status >= 400 ? `${status} ` : ''}${apiCode}):`;
  if ((apiCode === 'ACCESS_DENIED' && status !== 401) || apiCode === 'INVALID_CREDENTIALS') {
    return `${head} the user who authorized is not an administrator of the portal. ${AS_ADMINISTRATOR}`;
  }
  if (error.reason === 'auth' && apiCode !== 'invalid_client' && apiCode !== 'PAYMENT_REQUIRED') {
    // a pair issued a moment ago: a refusal means it is not this portal's
    return `${head} the portal refused the new pair. Is B24_PORTAL_URL (${portal.restUrl}) the portal the administrator authorized on? ${error.message}`;
  }
  const advice = adviceFor(error);
  const cause = advice.message.replace(/^Poll failed(: )?/, '');
  const next = advice.reauthorize
    ? 'Then run auth again.'
    : PASSING.has(error.reason)
      ? CHECK_AGAIN
      : '';
  return [
    head,
    cause === '' ? error.message.replace(/\.?$/, '.') : `${cause}. (${error.message})`,
    next,
  ]
    .filter((part) => part !== '')
    .join(' ');
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

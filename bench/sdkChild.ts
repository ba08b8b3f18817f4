/**
 * Measured child: the same queue listed by the official SDK (`@bitrix24/b24jssdk`) with its
 * keyset list (`actions.v2.fetchList`: `order {ID: ASC}`, `filter {">ID": last}`, `start: -1`)
 * over HTTPS, with OAuth app auth on a token pair of its own. Its client-side limiters (a
 * 50-request burst at 2/s, the operating-time budget, adaptive pauses) are lifted, so wall
 * time is the SDK's own work plus the local portal; the 2/s cost is computed from the
 * request count the same way as for the monitor. Each page is folded into a snapshot with
 * the monitor's pure core, to prove the listing saw every row.
 */
import { globalAgent } from 'node:https';
import { performance } from 'node:perf_hooks';
import { ApiVersion, B24OAuth, EnumAppStatus } from '@bitrix24/b24jssdk';
import { parseTimestamp } from '../src/poll/parseAnswers.js';
import { rowStatus, SnapshotBuilder } from '../src/queue/snapshot.js';
import type { SdkJob, SdkResult, SdkRun } from './protocol.js';
import { toJson } from './snapshotJson.js';
import { maxRssMb } from './stats.js';

/** Limits so high they never wait: the SDK's request pattern, not its throttle, is measured. */
const UNTHROTTLED = {
  rateLimit: { burstLimit: 1_000_000_000, drainRate: 1_000_000_000, adaptiveEnabled: false },
  operatingLimit: { windowMs: 600_000, limitMs: 1_000_000_000_000, heavyPercent: 100 },
  adaptiveConfig: { enabled: false, thresholdPercent: 100, coefficient: 0, maxDelay: 0 },
  maxRetries: 3,
};

interface Row {
  readonly ID: string;
  readonly EVENT_NAME: string;
  readonly TIMESTAMP_X: string;
  readonly PROCESS_ID: string;
  readonly ERROR: string | number;
}

function client(job: SdkJob): B24OAuth {
  const { portal } = job;
  const origin = new URL(portal.restUrl).origin;
  const b24 = new B24OAuth(
    {
      applicationToken: 'bench',
      userId: 1,
      memberId: job.memberId,
      accessToken: portal.accessToken,
      refreshToken: portal.refreshToken,
      expires: portal.expires,
      expiresIn: 3600,
      scope: 'crm',
      domain: job.domain,
      // The SDK appends `/<method>`: a trailing slash would make `rest//method`.
      clientEndpoint: portal.restUrl.replace(/\/$/, ''),
      // It posts refreshes to `<serverEndpoint without /rest/>/oauth/token/`.
      serverEndpoint: `${origin}/rest/`,
      status: EnumAppStatus.Local,
    },
    { clientId: portal.clientId, clientSecret: portal.clientSecret },
    { restrictionParams: UNTHROTTLED },
  );
  b24.offClientSideWarning();
  return b24;
}

async function listOnce(b24: B24OAuth, job: SdkJob): Promise<SdkRun> {
  const http = b24.getHttpClient(ApiVersion.v2);
  const before = http.getStats().totalRequests;
  const startedAt = Date.now();
  const builder = new SnapshotBuilder(Math.floor(startedAt / 1000), job.eventNames);
  let rows = 0;
  const started = performance.now();
  const pages = b24.actions.v2.fetchList.make<Row>({
    method: 'event.offline.list',
    params: {},
    idKey: 'ID',
  });
  for await (const page of pages) {
    for (const row of page) {
      builder.add(
        row.EVENT_NAME.toUpperCase(),
        rowStatus(row.PROCESS_ID, Number(row.ERROR)),
        parseTimestamp(row.TIMESTAMP_X),
      );
    }
    rows += page.length;
  }
  const wallMs = performance.now() - started;
  return {
    wallMs,
    requests: http.getStats().totalRequests - before,
    rows,
    snapshot: toJson(builder.finish(rows)),
  };
}

export async function runSdkJob(job: SdkJob): Promise<SdkResult> {
  const b24 = client(job);
  const baselineRssMb = Math.round(process.memoryUsage.rss() / 104_857.6) / 10;
  const runs: SdkRun[] = [];
  for (let i = 0; i < job.runs; i++) runs.push(await listOnce(b24, job));
  // axios uses the global agent: its keep-alive sockets would hold the process open.
  globalAgent.destroy();
  return { kind: 'sdk', runs, maxRssMb: maxRssMb(), baselineRssMb };
}

/** The small HTML page at `/`: each portal's status, last poll and depth by status. */
import type { PortalPoller } from '../poll/poller.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function row(poller: PortalPoller, now: number): string {
  const report = poller.lastReport;
  const success = poller.lastSuccess;
  const status =
    report === null ? 'waiting' : report.ok ? 'up' : `down (${report.error?.reason ?? 'unknown'})`;
  const counts = success?.counts;
  const age = success === null ? '—' : `${Math.round((now - success.startedAt) / 1000)} s ago`;
  const cells = [
    poller.name,
    poller.isStale(now) && success !== null ? `${status}, stale` : status,
    report === null ? '—' : new Date(report.startedAt).toISOString(),
    age,
    success?.snapshot?.depth.toString() ?? '—',
    counts?.queued.toString() ?? '—',
    counts?.reserved.toString() ?? '—',
    counts?.error.toString() ?? '—',
    report?.strategy ?? '—',
  ];
  return `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
}

export function renderStatusPage(
  pollers: readonly PortalPoller[],
  version: string,
  now = Date.now(),
): string {
  const shown = pollers.slice(0, 500);
  const more = pollers.length - shown.length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>b24-offline-monitor</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}</style>
</head><body>
<h1>b24-offline-monitor ${escapeHtml(version)}</h1>
<p><a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a></p>
<table><thead><tr><th>portal</th><th>status</th><th>last poll</th><th>last success</th><th>depth</th><th>queued</th><th>reserved</th><th>error</th><th>strategy</th></tr></thead>
<tbody>
${shown.map((p) => row(p, now)).join('\n')}
</tbody></table>
${more > 0 ? `<p>and ${more} more portals: see /metrics</p>` : ''}
</body></html>
`;
}

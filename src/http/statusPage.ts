/**
 * The status page: `/` lists the portals worst first (filterable, paged), `/portal/<name>`
 * shows one portal by event name. Plain HTML with inline CSS: no script, no asset from
 * anywhere (a Content-Security-Policy says so to the browser), every text escaped. It reloads
 * itself every 30 s (meta refresh, keeping the filter and page in the URL).
 */
import type { PortalPoller } from '../poll/poller.js';
import {
  HEALTH_WORDS,
  SUMMARY_WORDS,
  LATE_AFTER_SECONDS,
  eventNameRows,
  humanAge,
  listPortals,
  PAGE_SIZE,
  portalStatus,
  type Health,
  type PortalStatus,
  type StatusQuery,
} from './statusModel.js';

const REFRESH_SECONDS = 30;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function portalPath(name: string): string {
  return `/portal/${encodeURIComponent(name)}`;
}

const number = (n: number): string => n.toLocaleString('en-US');
const age = (seconds: number | null): string => (seconds === null ? '—' : humanAge(seconds));

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#1f2328;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem}h1 small{font-weight:normal;color:#656d76;font-size:.9rem}
a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}
nav.top{color:#656d76;margin-bottom:1rem}
.summary{display:flex;flex-wrap:wrap;gap:.4rem;margin:.6rem 0}
.pill{display:inline-block;padding:.05rem .55rem;border-radius:1rem;font-size:.85rem;font-weight:600;white-space:nowrap}
.h-failing{background:#cf222e;color:#fff}.h-stale{background:#bc4c00;color:#fff}.h-waiting{background:#6e7781;color:#fff}
.h-errors{background:#ffebe9;color:#a40e26;border:1px solid #ff8182}.h-late{background:#fff8c5;color:#7d4e00;border:1px solid #d4a72c}.h-ok{background:#dafbe1;color:#116329}
form{margin:.6rem 0}input[type=search]{padding:.25rem .4rem;width:16rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{border-bottom:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600;white-space:nowrap}
td.name{white-space:nowrap}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.row-failing td{background:#ffebe9}tr.row-failing td:first-child{border-left:4px solid #cf222e}
tr.row-stale td:first-child{border-left:4px solid #bc4c00}
td.hot{background:#cf222e!important;color:#fff;font-weight:700}
td.warm{background:#fff8c5!important;color:#7d4e00;font-weight:600}
.why{color:#a40e26;font-size:.9rem}.muted{color:#656d76}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{color:#656d76}dd{margin:0}
.pager{display:flex;gap:1rem;align-items:center}
`;

function layout(title: string, version: string, nowMs: number, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head><body>
<nav class="top"><a href="/">b24-offline-monitor</a> ${escapeHtml(version)} · <a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a> · as of ${escapeHtml(new Date(nowMs).toISOString().replace(/\.\d+Z$/, 'Z'))}, refreshes every ${REFRESH_SECONDS} s</nav>
${body}
</body></html>
`;
}

function pill(health: Health): string {
  return `<span class="pill h-${health}">${escapeHtml(HEALTH_WORDS[health])}</span>`;
}

function lastPollText(status: PortalStatus, nowMs: number): string {
  const poll = status.lastPoll;
  if (poll === null) return '—';
  return `${humanAge((nowMs - poll.startedAt) / 1000)} ago`;
}

function costText(status: PortalStatus): string {
  const poll = status.lastPoll;
  if (poll === null) return '—';
  const parts = [`${number(poll.durationMs)} ms`, `${number(poll.requests)} req`];
  if (poll.strategy !== undefined) parts.push(poll.strategy);
  return parts.join(' · ');
}

/** Why a portal is not ok, in words, when its row alone does not say it. */
function whyText(status: PortalStatus, nowMs: number): string | null {
  if (status.reasonWords !== null) return status.reasonWords;
  if (status.health === 'waiting') return 'the first poll has not finished yet';
  if (status.health === 'stale' && status.lastSuccessAt !== null)
    return `no successful poll for ${humanAge((nowMs - status.lastSuccessAt) / 1000)}: figures are old`;
  return null;
}

function cell(text: string, className = ''): string {
  return `<td${className === '' ? '' : ` class="${className}"`}>${escapeHtml(text)}</td>`;
}

function portalRow(status: PortalStatus, nowMs: number): string {
  const errors = status.counts?.error ?? null;
  const why = whyText(status, nowMs);
  return `<tr class="row-${status.health}" data-portal="${escapeHtml(status.name)}">
<td class="name"><a href="${escapeHtml(portalPath(status.name))}">${escapeHtml(status.name)}</a></td>
<td>${pill(status.health)}${why === null ? '' : `<div class="why">${escapeHtml(why)}</div>`}</td>
${cell(status.depth === null ? '—' : number(status.depth), 'n')}${cell(status.counts === null ? '—' : number(status.counts.queued), 'n')}${cell(status.counts === null ? '—' : number(status.counts.reserved), 'n')}${cell(errors === null ? '—' : number(errors), errors !== null && errors > 0 ? 'n hot' : 'n')}
${cell(age(status.oldestQueuedAge), (status.oldestQueuedAge ?? 0) > LATE_AFTER_SECONDS ? 'n warm' : 'n')}${cell(age(status.oldestErrorAge), status.oldestErrorAge !== null ? 'n hot' : 'n')}
${cell(lastPollText(status, nowMs), 'n')}${cell(costText(status), 'n')}
</tr>`;
}

function queryString(query: StatusQuery, page: number): string {
  const params = new URLSearchParams();
  if (query.filter !== '') params.set('q', query.filter);
  if (query.problemsOnly) params.set('problems', '1');
  if (page > 1) params.set('page', String(page));
  const text = params.toString();
  return text === '' ? '/' : `/?${text}`;
}

function renderStatusPage(
  pollers: readonly PortalPoller[],
  version: string,
  query: StatusQuery = { filter: '', problemsOnly: false, page: 1 },
  nowMs = Date.now(),
): string {
  const listing = listPortals(pollers, query, nowMs);
  const summary = (Object.entries(listing.byHealth) as [Health, number][])
    .filter(([, count]) => count > 0)
    .map(([health, count]) => {
      const text = `${number(count)} ${escapeHtml(SUMMARY_WORDS[health])}`;
      // A problem's pill leads to the problems only.
      return health === 'ok'
        ? `<span class="pill h-ok">${text}</span>`
        : `<a class="pill h-${health}" href="/?problems=1">${text}</a>`;
    })
    .join('');
  const first = (listing.page - 1) * PAGE_SIZE + 1;
  const last = first + listing.shown.length - 1;
  const pager =
    listing.pages <= 1
      ? ''
      : `<nav class="pager">${listing.page > 1 ? `<a rel="prev" href="${escapeHtml(queryString(query, listing.page - 1))}">‹ previous</a>` : ''}<span>page ${listing.page} of ${listing.pages}</span>${listing.page < listing.pages ? `<a rel="next" href="${escapeHtml(queryString(query, listing.page + 1))}">next ›</a>` : ''}</nav>`;
  const rows =
    listing.shown.length === 0
      ? `<tr><td colspan="10" class="muted">No portal matches.</td></tr>`
      : listing.shown.map((s) => portalRow(s, nowMs)).join('\n');
  const body = `<h1>Offline-event queues <small>${number(listing.total)} portal${listing.total === 1 ? '' : 's'}, worst first</small></h1>
<div class="summary">${summary}</div>
<form method="get" action="/"><input type="search" name="q" placeholder="portal name contains…" value="${escapeHtml(query.filter)}"> <label><input type="checkbox" name="problems" value="1"${query.problemsOnly ? ' checked' : ''}> problems only</label> <button type="submit">Filter</button></form>
<p class="muted" id="range">${listing.matching === 0 ? 'No portals' : `Portals ${number(first)}–${number(last)} of ${number(listing.matching)}`}${listing.matching === listing.total ? '' : ` (filtered from ${number(listing.total)})`}</p>
${pager}
<table id="portals"><thead><tr><th>portal</th><th>health</th><th>depth</th><th>queued</th><th>reserved</th><th>error</th><th>oldest queued</th><th>oldest error</th><th>last poll</th><th>its cost</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${pager}`;
  return layout('b24-offline-monitor', version, nowMs, body);
}

function renderPortalPage(poller: PortalPoller, version: string, nowMs = Date.now()): string {
  const status = portalStatus(poller, nowMs);
  const why = whyText(status, nowMs);
  const poll = status.lastPoll;
  const details: [string, string][] = [
    ['health', `${HEALTH_WORDS[status.health]}${why === null ? '' : `: ${why}`}`],
  ];
  if (status.reason !== null) details.push(['reason', status.reason]);
  if (status.errorMessage !== null) details.push(['error', status.errorMessage]);
  details.push(
    [
      'last poll',
      poll === null
        ? '—'
        : `${lastPollText(status, nowMs)} (${new Date(poll.startedAt).toISOString()})`,
    ],
    ['its cost', costText(status)],
    [
      'last success',
      status.lastSuccessAt === null
        ? 'never'
        : `${humanAge((nowMs - status.lastSuccessAt) / 1000)} ago`,
    ],
    ['depth', status.depth === null ? '—' : number(status.depth)],
    ['oldest queued', age(status.oldestQueuedAge)],
    ['oldest error', age(status.oldestErrorAge)],
  );
  const names = eventNameRows(poller, nowMs);
  const shown = names.slice(0, 1000);
  const rows =
    shown.length === 0
      ? `<tr><td colspan="7" class="muted">No event names yet.</td></tr>`
      : shown
          .map(
            (r) =>
              `<tr>${cell(r.eventName)}${cell(number(r.counts.queued), 'n')}${cell(number(r.counts.reserved), 'n')}${cell(number(r.counts.error), r.counts.error > 0 ? 'n hot' : 'n')}${cell(age(r.oldestAge.queued), (r.oldestAge.queued ?? 0) > LATE_AFTER_SECONDS ? 'n warm' : 'n')}${cell(age(r.oldestAge.reserved), 'n')}${cell(age(r.oldestAge.error), r.oldestAge.error !== null ? 'n hot' : 'n')}</tr>`,
          )
          .join('\n');
  const body = `<p><a href="/">← all portals</a></p>
<h1>${escapeHtml(status.name)} ${pill(status.health)}</h1>
<dl id="details">${details.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>
<h2>By event name</h2>
<table id="events"><thead><tr><th>event name</th><th>queued</th><th>reserved</th><th>error</th><th>oldest queued</th><th>oldest reserved</th><th>oldest error</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${names.length > shown.length ? `<p class="muted">and ${number(names.length - shown.length)} more event names: see /metrics</p>` : ''}`;
  return layout(`${status.name} · b24-offline-monitor`, version, nowMs, body);
}

function notFound(version: string, nowMs: number, name: string): string {
  return layout(
    'not found · b24-offline-monitor',
    version,
    nowMs,
    `<p><a href="/">← all portals</a></p><h1>No portal named “${escapeHtml(name)}”</h1>`,
  );
}

/** `/` and `/portal/<name>`: the paths statusPageFor answers. */
export function isStatusPath(path: string): boolean {
  return path === '/' || path.startsWith('/portal/');
}

/**
 * The page a request URL asks for: `/` (query: `q`, `problems=1`, `page`) or
 * `/portal/<name>`; a 404 page for an unknown portal.
 */
export function statusPageFor(
  url: string,
  pollers: readonly PortalPoller[],
  version: string,
  nowMs = Date.now(),
): { status: number; body: string } {
  const parsed = new URL(url, 'http://status.invalid');
  if (parsed.pathname === '/') {
    const page = Number.parseInt(parsed.searchParams.get('page') ?? '1', 10);
    const query: StatusQuery = {
      filter: (parsed.searchParams.get('q') ?? '').trim().slice(0, 200),
      problemsOnly: parsed.searchParams.get('problems') === '1',
      page: Number.isFinite(page) ? page : 1,
    };
    return { status: 200, body: renderStatusPage(pollers, version, query, nowMs) };
  }
  let name: string;
  try {
    name = decodeURIComponent(parsed.pathname.slice('/portal/'.length));
  } catch {
    return { status: 404, body: notFound(version, nowMs, parsed.pathname) };
  }
  const poller = pollers.find((p) => p.name === name);
  if (poller === undefined) return { status: 404, body: notFound(version, nowMs, name) };
  return { status: 200, body: renderPortalPage(poller, version, nowMs) };
}

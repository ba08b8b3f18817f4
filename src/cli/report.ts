/** What `once` prints: a table for people, or JSON for scripts. */
import type { PollReport } from '../poll/report.js';
import { STATUSES } from '../queue/snapshot.js';

export interface OnceResult {
  readonly portal: string;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly requests: number;
  readonly strategy: string | null;
  readonly depth: number | null;
  readonly counts: Record<string, number> | null;
  readonly events: Record<string, Record<string, { count: number; oldest: string | null }>> | null;
  readonly error: { reason: string; code: string; message: string } | null;
  /** The rotated token pair could not be written: the next run will not authenticate. */
  readonly tokenFileError: string | null;
}

export function toOnceResult(report: PollReport, tokenFileError?: string): OnceResult {
  const events: OnceResult['events'] = report.snapshot === undefined ? null : {};
  if (report.snapshot !== undefined && events !== null) {
    for (const [name, stats] of report.snapshot.groups) {
      events[name] = Object.fromEntries(
        STATUSES.map((status) => {
          const { count, oldest } = stats[status];
          return [
            status,
            { count, oldest: oldest === null ? null : new Date(oldest * 1000).toISOString() },
          ];
        }),
      );
    }
  }
  return {
    portal: report.portal,
    ok: report.ok,
    durationMs: report.durationMs,
    requests: report.requests,
    strategy: report.strategy ?? null,
    depth: report.snapshot?.depth ?? null,
    counts: report.counts ?? null,
    events,
    error:
      report.error === undefined
        ? null
        : { reason: report.error.reason, code: report.error.code, message: report.error.message },
    tokenFileError: tokenFileError ?? null,
  };
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, i) => cell.padEnd(widths[i] ?? 0))
    .join('  ')
    .trimEnd();
}

export function formatTable(results: readonly OnceResult[]): string {
  const header = [
    'PORTAL',
    'STATUS',
    'DEPTH',
    'QUEUED',
    'RESERVED',
    'ERROR',
    'REQUESTS',
    'TIME',
    'DETAIL',
  ];
  const rows = results.map((r) => [
    r.portal,
    r.ok ? 'ok' : 'FAILED',
    r.depth?.toString() ?? '-',
    r.counts?.['queued']?.toString() ?? '-',
    r.counts?.['reserved']?.toString() ?? '-',
    r.counts?.['error']?.toString() ?? '-',
    r.requests.toString(),
    `${r.durationMs} ms`,
    r.error !== null
      ? `${r.error.reason}: ${r.error.message}`
      : r.tokenFileError !== null
        ? `token pair not saved: ${r.tokenFileError}`
        : (r.strategy ?? ''),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  return [pad(header, widths), ...rows.map((row) => pad(row, widths))].join('\n');
}

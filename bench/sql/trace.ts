/**
 * `--sql-trace`: where a poll's database time goes. Every list the SQL-backed portal ran
 * during a poll, with its `COUNT(*)` and page time, its total and its WHERE clause (the
 * app and connector scope left out), for one headline poll and the dearest breakdown poll of
 * each kind (names, ages, both) of a run.
 */
import type { SqlListTrace } from '../../src/sim/sql/index.js';
import type { PollRun } from '../protocol.js';

/** The scope every list shares, left out of the printed WHERE. */
const SCOPE = /^APP_ID = \? AND \(CONNECTOR_ID IS NULL OR CONNECTOR_ID = ''\)( AND )?/;

function whereText(entry: SqlListTrace): string {
  const params = entry.params.slice(1);
  let i = 0;
  const text = entry.where.replace(SCOPE, '').replace(/\?/g, () => {
    const value = params[i++];
    return typeof value === 'string' ? `'${value}'` : String(value);
  });
  return text === '' ? '(all)' : text;
}

function pollLines(title: string, lists: readonly SqlListTrace[]): string[] {
  const sum = lists.reduce((s, e) => s + e.countMs + e.pageMs, 0);
  const lines = [`  ${title}: ${lists.length} lists, ${Math.round(sum)} ms`];
  for (const e of lists) {
    const ms = `${Math.round(e.countMs)}+${Math.round(e.pageMs)} ms`.padStart(12);
    lines.push(
      `    ${ms}  total ${String(e.total).padStart(8)}  ${whereText(e)}  ORDER BY ${e.order}${e.offset > 0 ? ` OFFSET ${e.offset}` : ''}`,
    );
  }
  return lines;
}

/**
 * The trace of the last headline-only poll, of the dearest one (over the `COUNT(*)` timed
 * around it, when given: what sets the headline's max), and of the dearest poll of each kind
 * of breakdown.
 */
export function traceLines(
  label: string,
  runs: readonly PollRun[],
  lists: readonly (readonly SqlListTrace[] | undefined)[],
  countMs: readonly (number | undefined)[] = [],
): string[] {
  const seconds = (i: number) => runs[i]?.processingSeconds ?? 0;
  const kind = (i: number) => runs[i]?.refreshed?.join('+') ?? '';
  const indexes = runs.map((_, i) => i);
  const headlines = indexes.filter((i) => i > 0 && kind(i) === '');
  const out = [`${label}: trace`];
  const yardstick = (i: number) => {
    const count = countMs[i];
    return count === undefined ? '' : `, COUNT(*) around it ${Math.round(count)} ms`;
  };
  const last = headlines.at(-1);
  if (last !== undefined) {
    out.push(...pollLines(`headline poll ${last}${yardstick(last)}`, lists[last] ?? []));
  }
  const cost = (i: number) => seconds(i) / (countMs[i] ?? 1);
  const dearest = [...headlines].sort((a, b) => cost(b) - cost(a))[0];
  if (dearest !== undefined && dearest !== last) {
    const title = `dearest headline poll ${dearest}${yardstick(dearest)}`;
    out.push(...pollLines(title, lists[dearest] ?? []));
  }
  out.push(...summaryLines(runs, lists));
  const kinds = new Set(indexes.filter((i) => i > 0 && kind(i) !== '').map(kind));
  for (const k of kinds) {
    const dearest = indexes
      .filter((i) => i > 0 && kind(i) === k)
      .sort((a, b) => seconds(b) - seconds(a))[0];
    if (dearest === undefined) continue;
    out.push(...pollLines(`breakdown poll ${dearest} (${k})`, lists[dearest] ?? []));
  }
  return out;
}

/**
 * One line per poll: its lists by kind (by name without a time range: a pass or a
 * PROCESS_ID range; by name in a time range; other time ranges; the rest), so that a run
 * shows which polls counted names in full and which from the tail.
 */
function summaryLines(
  runs: readonly PollRun[],
  lists: readonly (readonly SqlListTrace[] | undefined)[],
): string[] {
  return runs.map((run, i) => {
    const polled = lists[i] ?? [];
    const count = (test: (e: SqlListTrace) => boolean) => polled.filter(test).length;
    const named = (e: SqlListTrace) => e.where.includes('EVENT_NAME');
    const timed = (e: SqlListTrace) => e.where.includes('TIMESTAMP_X');
    const ms = polled.reduce((s, e) => s + e.countMs + e.pageMs, 0);
    const kinds = [
      `${count((e) => named(e) && !timed(e))} by name`,
      `${count((e) => named(e) && timed(e))} by name since T`,
      `${count((e) => !named(e) && timed(e))} time ranges`,
      `${count((e) => !named(e) && !timed(e))} other`,
    ].join(', ');
    return `  poll ${i} (${run.refreshed?.join('+') || 'headline'}): ${polled.length} lists, ${Math.round(ms)} ms: ${kinds}`;
  });
}

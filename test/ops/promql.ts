/**
 * Just enough PromQL reading for the ops checks: which metric names an expression selects
 * and with which label matchers. Not a parser: it walks the tokens that matter (strings,
 * numbers and durations, `[...]` ranges, `by (...)` label lists, function calls) and
 * reports every vector selector. Real parsing is promtool's job (see promtool.test.ts).
 */

/** The metric names of docs/contract.md; fixed. */
export const CONTRACT_METRICS = [
  'b24_offline_events',
  'b24_offline_queue_depth',
  'b24_offline_oldest_event_timestamp_seconds',
  'b24_offline_events_older_than',
  'b24_offline_up',
  'b24_offline_last_success_timestamp_seconds',
  'b24_offline_poll_duration_seconds',
  'b24_offline_polls_total',
  'b24_offline_poll_failures_total',
  'b24_offline_rest_requests_total',
  'b24_offline_rest_errors_total',
  'b24_offline_rest_operating_seconds',
  'b24_offline_oauth_refreshes_total',
  'b24_offline_oauth_refresh_failures_total',
  'b24_offline_build_info',
] as const;

/** Exported by the monitor beyond the contract. */
const EXTRA_METRICS = [
  'b24_offline_poll_requests',
  'b24_offline_poll_strategy',
  // labels: portal. Rotated token pairs that could not be written to the token file.
  'b24_offline_token_file_write_failures_total',
  // labels: portal, status. The headline of every poll (the alerts read these).
  'b24_offline_status_events',
  'b24_offline_status_oldest_timestamp_seconds',
  // no labels. Threads that own the HTTP socket started again after a crash.
  'b24_offline_http_worker_restarts_total',
] as const;

/** Every name the monitor exports. */
export const MONITOR_METRICS: ReadonlySet<string> = new Set<string>([
  ...CONTRACT_METRICS,
  ...EXTRA_METRICS,
]);

export interface VectorSelector {
  /** The metric name; undefined for a selector written as `{__name__=...}` only. */
  readonly name: string | undefined;
  /** The text between the braces, '' when there are none. */
  readonly matchers: string;
}

const LABEL_LIST_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
]);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);
/** Aggregation operators: followed by `by (...)` as often as by their arguments. */
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

function skipString(expr: string, start: number): number {
  const quote = expr[start];
  let i = start + 1;
  while (i < expr.length && expr[i] !== quote) {
    i += expr[i] === '\\' && quote !== '`' ? 2 : 1;
  }
  return i + 1;
}

/** Index just after the bracket that closes the one at `start`, skipping strings inside. */
function skipBalanced(expr: string, start: number, open: string, close: string): number {
  let depth = 0;
  let i = start;
  while (i < expr.length) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
      continue;
    }
    if (c === open) depth += 1;
    if (c === close) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
    i += 1;
  }
  throw new Error(`unbalanced ${open}${close} in: ${expr}`);
}

function skipSpaces(expr: string, start: number): number {
  let i = start;
  while (i < expr.length && /\s/.test(expr[i] ?? '')) i += 1;
  return i;
}

/** Every vector selector of `expr`, in order of appearance. */
export function vectorSelectors(expr: string): VectorSelector[] {
  const found: VectorSelector[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] ?? '';
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i += 1;
    } else if (c === '[') {
      i = skipBalanced(expr, i, '[', ']');
    } else if (c === '$') {
      // A Grafana variable: $name or ${name}.
      i += 1;
      if (expr[i] === '{') i = skipBalanced(expr, i, '{', '}');
      else while (i < expr.length && /\w/.test(expr[i] ?? '')) i += 1;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(expr[i + 1] ?? ''))) {
      // Numbers and durations (30m, 1e3, 0x1f).
      while (i < expr.length && /[\w.]/.test(expr[i] ?? '')) i += 1;
    } else if (c === '{') {
      const end = skipBalanced(expr, i, '{', '}');
      found.push({ name: undefined, matchers: expr.slice(i + 1, end - 1) });
      i = end;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const start = i;
      while (i < expr.length && /[\w:]/.test(expr[i] ?? '')) i += 1;
      const word = expr.slice(start, i);
      const next = skipSpaces(expr, i);
      if (LABEL_LIST_KEYWORDS.has(word)) {
        if (expr[next] === '(') i = skipBalanced(expr, next, '(', ')');
      } else if (KEYWORDS.has(word) || AGGREGATIONS.has(word) || expr[next] === '(') {
        // An operator keyword, or a function call (its arguments are read on).
      } else if (expr[next] === '{') {
        const end = skipBalanced(expr, next, '{', '}');
        found.push({ name: word, matchers: expr.slice(next + 1, end - 1) });
        i = end;
      } else {
        found.push({ name: word, matchers: '' });
      }
    } else {
      i += 1;
    }
  }
  return found;
}

/** The distinct metric names `expr` selects. */
export function metricNames(expr: string): string[] {
  const names = vectorSelectors(expr)
    .map((s) => s.name)
    .filter((n): n is string => n !== undefined);
  return [...new Set(names)];
}

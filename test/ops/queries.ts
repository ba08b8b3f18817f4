/**
 * Every PromQL expression the project ships: the Grafana dashboard's panel targets and
 * variable query, and the expressions of the alerting and recording rules. Grafana's
 * variables are replaced so that each expression can be sent as is to Prometheus' HTTP API
 * (`/api/v1/query`), as the end-to-end test does against a real Prometheus.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DASHBOARD_FILE = 'config/grafana/dashboards/b24-offline-monitor.json';
export const RULES_DIR = 'config/alerts';

type QueryKind = 'panel' | 'variable' | 'alert' | 'record';

export interface OpsQuery {
  /** Where it comes from, e.g. `dashboard panel 12 "Rows by status" target A`. */
  readonly source: string;
  readonly kind: QueryKind;
  /** The expression with Grafana variables replaced; ready for /api/v1/query. */
  readonly expr: string;
  /** The expression as written in the file. */
  readonly raw: string;
  /** Grafana runs it as an instant query (tables); panels otherwise run range queries. */
  readonly instant: boolean;
}

export interface QueryOptions {
  /** Repository root. @default the checkout this file is in */
  readonly root?: string;
  /** Replaces `$portal`: a regex, since every panel uses `portal=~"$portal"`. @default `.*` */
  readonly portal?: string;
  /** Replaces `$__rate_interval` and `$__interval`. @default `1m` */
  readonly rateInterval?: string;
  /** Replaces `$__range` (and `$__range_s` in seconds). @default `1h` */
  readonly range?: string;
}

// ── Grafana dashboard JSON, the fields used here ─────────────────────────────────────────
interface DashboardDatasource {
  readonly type?: string;
  readonly uid?: string;
}
interface DashboardTarget {
  readonly refId?: string;
  readonly expr?: string;
  readonly datasource?: DashboardDatasource;
  readonly instant?: boolean;
  readonly range?: boolean;
  readonly format?: string;
}
export interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: DashboardDatasource;
  readonly targets?: readonly DashboardTarget[];
  readonly panels?: readonly DashboardPanel[];
  readonly gridPos: {
    readonly x: number;
    readonly y: number;
    readonly w: number;
    readonly h: number;
  };
}
export interface DashboardVariable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query?: string };
  readonly definition?: string;
  readonly datasource?: DashboardDatasource;
  readonly multi?: boolean;
  readonly includeAll?: boolean;
  readonly allValue?: string;
}
export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: readonly DashboardPanel[];
  readonly templating: { readonly list: readonly DashboardVariable[] };
}

// ── Prometheus rule files ────────────────────────────────────────────────────────────────
export interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}
interface RuleGroup {
  readonly name: string;
  readonly rules: readonly Rule[];
}
export interface RuleFile {
  readonly file: string;
  readonly groups: readonly RuleGroup[];
}

export function loadDashboard(root: string = REPO_ROOT): Dashboard {
  return JSON.parse(readFileSync(join(root, DASHBOARD_FILE), 'utf8')) as Dashboard;
}

/** Panels in display order, those nested in collapsed rows included. */
export function dashboardPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** The rule files `config/prometheus/prometheus.yml` loads (`config/alerts/*.rules.yml`). */
export function ruleFiles(root: string = REPO_ROOT): string[] {
  return readdirSync(join(root, RULES_DIR))
    .filter((f) => f.endsWith('.rules.yml'))
    .sort()
    .map((f) => join(RULES_DIR, f));
}

export function loadRules(root: string = REPO_ROOT): RuleFile[] {
  return ruleFiles(root).map((file) => {
    const doc = parseYaml(readFileSync(join(root, file), 'utf8')) as { groups: RuleGroup[] };
    return { file, groups: doc.groups };
  });
}

/** Replaces the Grafana variables the dashboard uses; throws on any other. */
export function substituteGrafanaVariables(expr: string, options: QueryOptions = {}): string {
  const portal = options.portal ?? '.*';
  const rateInterval = options.rateInterval ?? '1m';
  const range = options.range ?? '1h';
  const values: Record<string, string> = {
    portal,
    __rate_interval: rateInterval,
    __interval: rateInterval,
    __range: range,
    __range_s: String(durationSeconds(range)),
  };
  return expr.replace(
    /\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g,
    (whole, a?: string, b?: string, c?: string) => {
      const name = a ?? b ?? c ?? '';
      const value = values[name];
      if (value === undefined) throw new Error(`unknown Grafana variable ${whole} in: ${expr}`);
      return value;
    },
  );
}

function durationSeconds(duration: string): number {
  const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  for (const m of duration.matchAll(/(\d+)([smhdw])/g))
    total += Number(m[1]) * (units[m[2] ?? 's'] ?? 1);
  return total;
}

/**
 * `label_values(metric, label)` (a Grafana variable query) as the PromQL that returns the
 * same label values: `group by (label) (metric)`.
 */
export function labelValuesToPromql(query: string): string {
  const m = /^\s*label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)\s*$/.exec(query);
  if (!m) throw new Error(`not a label_values() query: ${query}`);
  return `group by (${m[2]}) (${m[1]})`;
}

export function variableQuery(variable: DashboardVariable): string | undefined {
  if (typeof variable.query === 'string') return variable.query;
  return variable.query?.query ?? variable.definition;
}

export function dashboardQueries(options: QueryOptions = {}): OpsQuery[] {
  const dashboard = loadDashboard(options.root);
  const queries: OpsQuery[] = [];
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const raw = variableQuery(variable);
    if (raw === undefined) continue;
    queries.push({
      source: `dashboard variable ${variable.name}`,
      kind: 'variable',
      raw,
      expr: substituteGrafanaVariables(labelValuesToPromql(raw), options),
      instant: true,
    });
  }
  for (const panel of dashboardPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      if (target.expr === undefined) continue;
      queries.push({
        source: `dashboard panel ${panel.id} "${panel.title}" target ${target.refId ?? '?'}`,
        kind: 'panel',
        raw: target.expr,
        expr: substituteGrafanaVariables(target.expr, options),
        instant: target.instant === true && target.range !== true,
      });
    }
  }
  return queries;
}

export function ruleQueries(options: QueryOptions = {}): OpsQuery[] {
  return loadRules(options.root).flatMap(({ file, groups }) =>
    groups.flatMap((group) =>
      group.rules.map((rule): OpsQuery => {
        const kind = rule.alert !== undefined ? 'alert' : 'record';
        const name = rule.alert ?? rule.record ?? '?';
        return {
          source: `${file} ${kind} ${name}`,
          kind,
          raw: rule.expr,
          expr: rule.expr.trim(),
          instant: true,
        };
      }),
    ),
  );
}

/** Every PromQL expression of the dashboard and the rules, ready to send to Prometheus. */
export function allQueries(options: QueryOptions = {}): OpsQuery[] {
  return [...dashboardQueries(options), ...ruleQueries(options)];
}

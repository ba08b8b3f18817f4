/**
 * The Grafana dashboard and its provisioning, checked as data. (Whether each query returns
 * data is for the end-to-end test against a real Prometheus; whether it parses is checked
 * by promtool in promtool.test.ts.)
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CONTRACT_METRICS, MONITOR_METRICS, metricNames, vectorSelectors } from './promql.js';
import {
  DASHBOARD_FILE,
  REPO_ROOT,
  dashboardPanels,
  loadDashboard,
  variableQuery,
} from './queries.js';

const dashboard = loadDashboard();
const panels = dashboardPanels(dashboard);
const queryPanels = panels.filter((p) => p.type !== 'row');
const PORTAL_FILTER = 'portal=~"$portal"';
const DATASOURCE = '${datasource}';
/** Contract metrics no panel needs to show. */
const NOT_ON_DASHBOARD = new Set(['b24_offline_build_info']);

const targets = queryPanels.flatMap((panel) =>
  (panel.targets ?? []).map(
    (target) => [`panel ${panel.id} "${panel.title}" ${target.refId ?? '?'}`, target] as const,
  ),
);

describe('dashboard', () => {
  it('is a Grafana dashboard of schema version 39 or so, with a stable uid', () => {
    expect(dashboard.uid).toBe('b24-offline-monitor');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(41);
  });

  it('has a datasource variable for Prometheus and a multi-value portal variable with All', () => {
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    const datasource = vars.get('datasource');
    const portal = vars.get('portal');

    expect(datasource?.type).toBe('datasource');
    expect(datasource?.query).toBe('prometheus');
    expect(portal?.type).toBe('query');
    expect(portal?.datasource?.uid).toBe(DATASOURCE);
    expect(portal && variableQuery(portal)).toBe('label_values(b24_offline_up, portal)');
    expect(portal?.multi).toBe(true);
    expect(portal?.includeAll).toBe(true);
    expect(portal?.allValue).toBe('.*');
  });

  it('has unique panel ids and panels that fit the 24-column grid without overlapping', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    }
    for (const [i, a] of panels.entries()) {
      for (const b of panels.slice(i + 1)) {
        const overlap =
          a.gridPos.x < b.gridPos.x + b.gridPos.w &&
          b.gridPos.x < a.gridPos.x + a.gridPos.w &&
          a.gridPos.y < b.gridPos.y + b.gridPos.h &&
          b.gridPos.y < a.gridPos.y + a.gridPos.h;
        expect(overlap, `"${a.title}" overlaps "${b.title}"`).toBe(false);
      }
    }
  });

  it.each(queryPanels.map((p) => [`${p.id} "${p.title}"`, p] as const))(
    'panel %s uses ${datasource} and has queries',
    (_name, panel) => {
      expect(panel.datasource?.uid).toBe(DATASOURCE);
      expect(panel.targets?.length ?? 0).toBeGreaterThan(0);
    },
  );

  it.each(targets)(
    "%s: ${datasource}, only the monitor's metrics, every selector filtered by $portal",
    (_name, target) => {
      const expr = target.expr ?? '';
      const selectors = vectorSelectors(expr);

      expect(target.datasource?.uid).toBe(DATASOURCE);
      expect(selectors.length).toBeGreaterThan(0);
      expect(metricNames(expr).filter((n) => !MONITOR_METRICS.has(n))).toEqual([]);
      for (const selector of selectors) {
        expect(selector.name, expr).toBeDefined();
        expect(selector.matchers, `${selector.name} in ${expr}`).toContain(PORTAL_FILTER);
      }
    },
  );

  it('shows every contract metric (build info aside)', () => {
    const shown = new Set(targets.flatMap(([, t]) => metricNames(t.expr ?? '')));

    expect(CONTRACT_METRICS.filter((m) => !NOT_ON_DASHBOARD.has(m) && !shown.has(m))).toEqual([]);
  });

  it.each([
    [
      'depth by status over time',
      'sum by (portal, status) (b24_offline_events{portal=~"$portal"})',
    ],
    ['rows by event name', 'sum by (portal, event_name) (b24_offline_events{portal=~"$portal"})'],
    [
      'age of the oldest event by status',
      'time() - min by (portal, status) (b24_offline_oldest_event_timestamp_seconds{portal=~"$portal"})',
    ],
    ['error backlog', 'sum by (portal) (b24_offline_events{portal=~"$portal", status="error"})'],
    [
      'failures by reason',
      'sum by (portal, reason) (rate(b24_offline_poll_failures_total{portal=~"$portal"}[$__rate_interval]))',
    ],
    [
      'REST errors by code',
      'sum by (portal, code) (rate(b24_offline_rest_errors_total{portal=~"$portal"}[$__rate_interval]))',
    ],
    ['token file write failures', 'b24_offline_token_file_write_failures_total{portal=~"$portal"}'],
  ])('has a panel for %s', (_topic, expr) => {
    expect(targets.some(([, t]) => (t.expr ?? '').includes(expr))).toBe(true);
  });
});

describe('Grafana provisioning', () => {
  const provisioning = join(REPO_ROOT, 'config/grafana/provisioning');
  const yamlIn = (dir: string): Record<string, unknown>[] =>
    readdirSync(join(provisioning, dir))
      .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
      .map(
        (f) =>
          parseYaml(readFileSync(join(provisioning, dir, f), 'utf8')) as Record<string, unknown>,
      );
  const compose = parseYaml(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: { grafana: { volumes: string[]; environment: Record<string, string> } };
  };
  /** Container path -> repository path, for the bind mounts of the grafana service. */
  const mounts = compose.services.grafana.volumes
    .map((v) => v.split(':'))
    .filter(([source]) => source?.startsWith('./'))
    .map(([source, target]) => [target ?? '', (source ?? '').slice(2)] as const);
  const inRepo = (containerPath: string): string | undefined => {
    const mount = mounts.find(
      ([target]) => containerPath === target || containerPath.startsWith(`${target}/`),
    );
    return mount && join(mount[1], containerPath.slice(mount[0].length));
  };

  it('provisions a Prometheus datasource at http://prometheus:9090', () => {
    const datasources = yamlIn('datasources').flatMap(
      (d) => (d['datasources'] ?? []) as Record<string, unknown>[],
    );

    expect(datasources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090' }),
      ]),
    );
  });

  it('provisions the dashboard from the directory compose mounts, and makes it the home dashboard', () => {
    const providers = yamlIn('dashboards').flatMap(
      (d) => (d['providers'] ?? []) as { options?: { path?: string } }[],
    );
    const paths = providers.map((p) => p.options?.path ?? '');
    const home =
      compose.services.grafana.environment['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH'] ?? '';

    expect(paths.map(inRepo)).toContain('config/grafana/dashboards');
    expect(inRepo('/etc/grafana/provisioning')).toBe('config/grafana/provisioning');
    expect(inRepo(home)).toBe(DASHBOARD_FILE);
    expect(existsSync(join(REPO_ROOT, DASHBOARD_FILE))).toBe(true);
  });
});

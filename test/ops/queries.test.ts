import { describe, expect, it } from 'vitest';
import { MONITOR_METRICS, metricNames, vectorSelectors } from './promql.js';
import {
  allQueries,
  dashboardPanels,
  dashboardQueries,
  labelValuesToPromql,
  loadDashboard,
  ruleQueries,
  substituteGrafanaVariables,
} from './queries.js';

describe('vectorSelectors', () => {
  it.each([
    ['b24_offline_up == 0', [['b24_offline_up', '']]],
    [
      'sum by (portal, status) (b24_offline_events{portal=~"$portal"})',
      [['b24_offline_events', 'portal=~"$portal"']],
    ],
    [
      'rate(b24_offline_polls_total{portal=~"a|b"}[$__rate_interval]) * 60',
      [['b24_offline_polls_total', 'portal=~"a|b"']],
    ],
    [
      '(up == 0) * on (job, instance) group_right () max by (job, instance, portal) (last_over_time(b24_offline_up[1d])) or on (job, instance) (up{job="x"} == 0)',
      [
        ['up', ''],
        ['b24_offline_up', ''],
        ['up', 'job="x"'],
      ],
    ],
    [
      'x offset 30m > scalar(b24_offline:threshold_y)',
      [
        ['x', ''],
        ['b24_offline:threshold_y', ''],
      ],
    ],
    ['label_replace(m, "dst", "$1", "src", "(.*)")', [['m', '']]],
    ['count({__name__=~"b24_.+"}) > bool 1e3', [[undefined, '__name__=~"b24_.+"']]],
  ])('finds the selectors of %s', (expr, expected) => {
    expect(vectorSelectors(expr).map((s) => [s.name, s.matchers])).toEqual(expected);
  });
});

describe('substituteGrafanaVariables', () => {
  it('replaces the variables the dashboard uses, in every syntax', () => {
    const expr =
      'increase(m{portal=~"$portal", p=~"${portal:regex}", q=~"[[portal]]"}[$__range]) / $__range_s + rate(m[$__rate_interval]) + rate(m[${__interval}])';

    expect(
      substituteGrafanaVariables(expr, { portal: 'a|b', range: '2h', rateInterval: '30s' }),
    ).toBe(
      'increase(m{portal=~"a|b", p=~"a|b", q=~"a|b"}[2h]) / 7200 + rate(m[30s]) + rate(m[30s])',
    );
  });

  it('refuses a variable it does not know', () => {
    expect(() => substituteGrafanaVariables('m{x="$unknown"}')).toThrow(/\$unknown/);
  });

  it('turns label_values() into PromQL', () => {
    expect(labelValuesToPromql('label_values(b24_offline_up, portal)')).toBe(
      'group by (portal) (b24_offline_up)',
    );
  });
});

describe('allQueries', () => {
  const queries = allQueries();

  it('returns every panel target, the portal variable, and every rule', () => {
    const targets = dashboardPanels(loadDashboard()).flatMap((p) => p.targets ?? []);

    expect(dashboardQueries().filter((q) => q.kind === 'panel')).toHaveLength(targets.length);
    expect(queries.filter((q) => q.kind === 'variable').map((q) => q.expr)).toEqual([
      'group by (portal) (b24_offline_up)',
    ]);
    expect(queries.filter((q) => q.kind === 'alert').length).toBeGreaterThanOrEqual(10);
    expect(queries).toHaveLength(dashboardQueries().length + ruleQueries().length);
  });

  it('gives each query a distinct source', () => {
    const sources = queries.map((q) => q.source);

    expect(new Set(sources).size).toBe(sources.length);
  });

  it.each(queries.map((q) => [q.source, q] as const))(
    '%s is ready for Prometheus',
    (_source, query) => {
      expect(query.expr).not.toMatch(/\$|\[\[/);
      // Only the threshold constants (vector(N)) select no series.
      if (query.kind !== 'record') expect(metricNames(query.expr).length).toBeGreaterThan(0);
      if (query.kind === 'panel' || query.kind === 'variable') {
        expect(metricNames(query.expr).filter((n) => !MONITOR_METRICS.has(n))).toEqual([]);
      }
    },
  );
});

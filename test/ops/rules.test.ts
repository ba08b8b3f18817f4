/**
 * The alert rules, read as data: what promtool cannot tell (every alert is documented,
 * names its portal, uses only the monitor's metrics, takes its threshold from the one
 * block of thresholds, and has unit tests that make it fire and keep it quiet).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { MONITOR_METRICS, metricNames } from './promql.js';
import { REPO_ROOT, RULES_DIR, loadRules, type Rule } from './queries.js';

/** The alerts the issue (and the ops review) asks for, with the condition each covers. */
const REQUIRED_ALERTS = [
  'B24OfflineErrorBacklog', // the error backlog exists
  'B24OfflineErrorBacklogGrowing', // ... and grows
  'B24OfflineOldestQueuedTooOld', // the oldest queued event is older than a threshold
  'B24OfflineReservedStuck', // reserved rows older than a threshold
  'B24OfflinePollFailing', // the monitor is down (b24_offline_up == 0)
  'B24OfflineDataStale', // its data is stale
  'B24OfflineMonitorTargetDown', // Prometheus cannot scrape it
  'B24OfflineMonitorWorkerRestarting', // its HTTP thread crash-loops while up flaps (worker review)
  'B24OfflinePollAuthFailing', // polls fail for auth
  'B24OfflinePollForbidden', // polls refused access: not an administrator, a webhook, a scope
  'B24OfflinePlanLacksFeature', // the plan lacks REST or connectors
  'B24OfflineSubscriptionLapsed', // the application's subscription lapsed
  'B24OfflineRateLimited', // polls are rate-limited
  'B24OfflineOperatingTimeHigh', // a method's operating time is close to the limit
  'B24OfflineTokenFileWriteFailing', // a rotated token pair is only in memory (ops review)
];
const SEVERITIES = ['warning', 'critical'];
/** Prometheus' own series the rules may use. */
const PROMETHEUS_METRICS = new Set(['up']);
const THRESHOLD = /^b24_offline:threshold_\w+$/;

interface AlertTestCase {
  readonly eval_time: string;
  readonly alertname: string;
  readonly exp_alerts?: readonly unknown[];
}
interface RuleTestFile {
  readonly rule_files: readonly string[];
  readonly tests: readonly { readonly alert_rule_test?: readonly AlertTestCase[] }[];
}

const ruleFilesLoaded = loadRules();
const rules: Rule[] = ruleFilesLoaded.flatMap((f) => f.groups.flatMap((g) => g.rules));
const alerts = rules.filter((r): r is Rule & { alert: string } => r.alert !== undefined);
const records = rules.filter((r): r is Rule & { record: string } => r.record !== undefined);
const thresholds = records.filter((r) => THRESHOLD.test(r.record));

const testDir = join(REPO_ROOT, RULES_DIR, 'tests');
const alertTestCases: AlertTestCase[] = readdirSync(testDir)
  .filter((f) => f.endsWith('.yml'))
  .flatMap((f) => {
    const doc = parseYaml(readFileSync(join(testDir, f), 'utf8')) as RuleTestFile;
    return doc.tests.flatMap((t) => t.alert_rule_test ?? []);
  });

describe('alert rules', () => {
  it('include every alert the issue asks for, each once', () => {
    const names = alerts.map((a) => a.alert);

    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(REQUIRED_ALERTS));
  });

  it.each(alerts.map((a) => [a.alert, a] as const))(
    '%s has a severity, a summary and a description naming the portal',
    (_name, alert) => {
      expect(SEVERITIES).toContain(alert.labels?.['severity']);
      expect(alert.annotations?.['summary']).toMatch(/\$labels\.portal/);
      expect(alert.annotations?.['description']).toMatch(/\$labels\.portal/);
    },
  );

  it.each(rules.map((r) => [r.alert ?? r.record ?? '?', r] as const))(
    '%s uses only metrics the monitor exports',
    (_name, rule) => {
      const recorded = new Set(records.map((r) => r.record));
      const unknown = metricNames(rule.expr).filter(
        (n) => !MONITOR_METRICS.has(n) && !PROMETHEUS_METRICS.has(n) && !recorded.has(n),
      );

      expect(unknown).toEqual([]);
    },
  );

  it('define each threshold once, as a constant, before the alerts of the same group', () => {
    for (const { groups } of ruleFilesLoaded) {
      for (const group of groups) {
        const firstAlert = group.rules.findIndex((r) => r.alert !== undefined);
        group.rules.forEach((rule, i) => {
          if (rule.record === undefined || !THRESHOLD.test(rule.record)) return;
          expect(rule.expr.trim(), rule.record).toMatch(/^vector\(\d+(\.\d+)?\)$/);
          expect(i, `${rule.record} comes after the first alert of ${group.name}`).toBeLessThan(
            firstAlert,
          );
        });
      }
    }
    const names = thresholds.map((t) => t.record);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThan(0);
  });

  it('use every threshold, and every threshold they use is defined in the same group', () => {
    for (const { groups } of ruleFilesLoaded) {
      for (const group of groups) {
        const defined = new Set(group.rules.map((r) => r.record).filter((r) => r !== undefined));
        for (const alert of group.rules.filter((r) => r.alert !== undefined)) {
          for (const name of metricNames(alert.expr).filter((n) => THRESHOLD.test(n))) {
            expect(defined.has(name), `${alert.alert} uses ${name}`).toBe(true);
          }
        }
      }
    }
    const used = new Set(alerts.flatMap((a) => metricNames(a.expr)));
    expect(thresholds.map((t) => t.record).filter((t) => !used.has(t))).toEqual([]);
  });

  it.each(alerts.map((a) => [a.alert, a] as const))(
    '%s compares with no number of its own but 0 (thresholds live in one place)',
    (_name, alert) => {
      const withoutRanges = alert.expr.replace(/\[[^\]]*\]/g, '').replace(/offset\s+\w+/g, '');
      const literals = [...withoutRanges.matchAll(/(?:[<>]=?|[!=]=)\s*(-?\d+(?:\.\d+)?)/g)].map(
        (m) => Number(m[1]),
      );

      expect(literals.filter((n) => n !== 0)).toEqual([]);
    },
  );

  it.each(alerts.map((a) => [a.alert] as const))(
    '%s has unit tests where it fires and where it stays quiet',
    (name) => {
      const cases = alertTestCases.filter((c) => c.alertname === name);

      expect(
        cases.some((c) => (c.exp_alerts ?? []).length > 0),
        `${name} never expected to fire`,
      ).toBe(true);
      expect(
        cases.some((c) => (c.exp_alerts ?? []).length === 0),
        `${name} never expected quiet`,
      ).toBe(true);
    },
  );

  it('are the only alerts the unit tests name', () => {
    const names = new Set(alerts.map((a) => a.alert));

    expect(
      [...new Set(alertTestCases.map((c) => c.alertname))].filter((n) => !names.has(n)),
    ).toEqual([]);
  });

  it('are the alerts the Alertmanager inhibit rules name', () => {
    const config = parseYaml(
      readFileSync(join(REPO_ROOT, 'config/alertmanager/alertmanager.yml'), 'utf8'),
    ) as {
      inhibit_rules?: readonly {
        source_matchers?: readonly string[];
        target_matchers?: readonly string[];
      }[];
    };
    const names = new Set(alerts.map((a) => a.alert));
    const named = (config.inhibit_rules ?? [])
      .flatMap((r) => [...(r.source_matchers ?? []), ...(r.target_matchers ?? [])])
      .flatMap((m) => {
        const match = /^alertname\s*=~?\s*"(.*)"$/.exec(m.trim());
        return match?.[1]?.split('|') ?? [];
      });

    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((n) => !names.has(n))).toEqual([]);
  });
});

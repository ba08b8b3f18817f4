/**
 * The Prometheus and Alertmanager configuration, checked by the real tools:
 * promtool (config, rules, rule unit tests) and amtool.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { REPO_ROOT, RULES_DIR, dashboardQueries, loadRules, ruleFiles } from './queries.js';
import { AMTOOL, PROMTOOL, needTool, run } from './tools.js';

const PROMETHEUS_CONFIG = 'config/prometheus/prometheus.yml';
const ALERTMANAGER_CONFIG = 'config/alertmanager/alertmanager.yml';
const RULE_TESTS_DIR = join(RULES_DIR, 'tests');

interface ComposeService {
  readonly command?: readonly string[];
  readonly volumes?: readonly string[];
}
interface ComposeFile {
  readonly services: Readonly<Record<string, ComposeService>>;
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'b24-ops-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function ruleTestFiles(): string[] {
  return readdirSync(join(REPO_ROOT, RULE_TESTS_DIR))
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => join(RULE_TESTS_DIR, f));
}

function compose(): ComposeFile {
  return parseYaml(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as ComposeFile;
}

/**
 * Lays out a service's read-only bind mounts of ./config/... under `root` as the container
 * sees them, and returns the container path given to `flag` in its command.
 */
function containerLayout(root: string, service: string, flag: string): string {
  const svc = compose().services[service];
  if (svc === undefined) throw new Error(`no service ${service} in docker-compose.yml`);
  for (const volume of svc.volumes ?? []) {
    const [source, target] = volume.split(':');
    if (source === undefined || target === undefined || !source.startsWith('./')) continue;
    cpSync(join(REPO_ROOT, source), join(root, target), { recursive: true });
  }
  const arg = (svc.command ?? []).find((a) => a.startsWith(`${flag}=`));
  if (arg === undefined) throw new Error(`${service}: no ${flag} in its command`);
  return join(root, arg.slice(flag.length + 1));
}

describe('promtool', () => {
  it('checks config/prometheus/prometheus.yml and finds the rule files', (ctx) => {
    const promtool = needTool(ctx, PROMTOOL);

    const result = run(promtool, ['check', 'config', PROMETHEUS_CONFIG]);

    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('is valid prometheus config file syntax');
    // A rule_files glob that matches nothing is not an error for promtool: count them.
    expect(result.output).toContain(`SUCCESS: ${ruleFiles().length} rule files found`);
    expect(ruleFiles().length).toBeGreaterThan(0);
  });

  it('checks prometheus.yml as the compose stack mounts it (rule paths resolve in the container)', (ctx) => {
    const promtool = needTool(ctx, PROMTOOL);
    const root = tempDir();
    const configFile = containerLayout(root, 'prometheus', '--config.file');

    const result = run(promtool, ['check', 'config', configFile], { cwd: root });

    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain(`SUCCESS: ${ruleFiles().length} rule files found`);
  });

  it('checks the rule files and counts every rule', (ctx) => {
    const promtool = needTool(ctx, PROMTOOL);
    const expected = loadRules().flatMap((f) => f.groups.flatMap((g) => g.rules)).length;

    const result = run(promtool, ['check', 'rules', ...ruleFiles()]);

    expect(result.status, result.output).toBe(0);
    const counts = [...result.output.matchAll(/SUCCESS: (\d+) rules found/g)].map((m) =>
      Number(m[1]),
    );
    expect(counts.reduce((a, b) => a + b, 0)).toBe(expected);
  });

  it('passes the rule unit tests (each alert fires when it should and stays quiet otherwise)', (ctx) => {
    const promtool = needTool(ctx, PROMTOOL);
    const files = ruleTestFiles();

    const result = run(promtool, ['test', 'rules', ...files]);

    expect(result.status, result.output).toBe(0);
    expect(result.output).not.toMatch(/FAILED/);
    expect(result.output.match(/^\s*SUCCESS\s*$/gm)?.length).toBe(files.length);
  });

  it('takes a threshold from its recording rule: raising it there silences the alert', (ctx) => {
    const promtool = needTool(ctx, PROMTOOL);
    const root = tempDir();
    const [rulesFile] = ruleFiles();
    if (rulesFile === undefined) throw new Error('no rule file');
    const original = readFileSync(join(REPO_ROOT, rulesFile), 'utf8');
    const threshold = /(record: b24_offline:threshold_operating_seconds\n\s+expr: )vector\(384\)/;
    expect(original).toMatch(threshold);
    writeFileSync(join(root, 'default.rules.yml'), original);
    writeFileSync(join(root, 'raised.rules.yml'), original.replace(threshold, '$1vector(600)'));
    // 500 s of operating time for 20 minutes (over the default 384 s, under 600 s), and a
    // test that expects no alert.
    const quietTest = (rules: string): string =>
      stringifyYaml({
        rule_files: [rules],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [
              {
                series: 'b24_offline_rest_operating_seconds{portal="p",method="batch"}',
                values: '500x20',
              },
            ],
            alert_rule_test: [
              {
                eval_time: '15m',
                alertname: 'B24OfflineOperatingTimeHigh',
                exp_alerts: [],
              },
            ],
          },
        ],
      });
    writeFileSync(join(root, 'raised.test.yml'), quietTest('raised.rules.yml'));
    writeFileSync(join(root, 'default.test.yml'), quietTest('default.rules.yml'));

    const raised = run(promtool, ['test', 'rules', 'raised.test.yml'], { cwd: root });
    const unchanged = run(promtool, ['test', 'rules', 'default.test.yml'], { cwd: root });

    expect(raised.status, raised.output).toBe(0);
    // Same test against the default threshold: the alert fires, so "no alert" fails.
    expect(unchanged.status, unchanged.output).not.toBe(0);
    expect(unchanged.output).toContain('B24OfflineOperatingTimeHigh');
  });

  it('parses every dashboard query (as recording rules)', (ctx) => {
    const promtool = needTool(ctx, PROMTOOL);
    const root = tempDir();
    const queries = dashboardQueries();
    const file = join(root, 'dashboard.rules.yml');
    writeFileSync(
      file,
      stringifyYaml({
        groups: [
          {
            name: 'dashboard',
            rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr })),
          },
        ],
      }),
    );

    const result = run(promtool, ['check', 'rules', file]);

    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain(`SUCCESS: ${queries.length} rules found`);
  });
});

describe('amtool', () => {
  it('checks config/alertmanager/alertmanager.yml', (ctx) => {
    const amtool = needTool(ctx, AMTOOL);

    const result = run(amtool, ['check-config', ALERTMANAGER_CONFIG]);

    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('SUCCESS');
  });

  it('checks alertmanager.yml as the compose stack mounts it', (ctx) => {
    const amtool = needTool(ctx, AMTOOL);
    const root = tempDir();
    const configFile = containerLayout(root, 'alertmanager', '--config.file');

    const result = run(amtool, ['check-config', configFile], { cwd: dirname(configFile) });

    expect(result.status, result.output).toBe(0);
  });
});

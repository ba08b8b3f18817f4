/**
 * The Kubernetes manifests (config/kubernetes/): rendered by the real `kubectl kustomize`,
 * every object validated against the Kubernetes schemas (kubernetes-models, with the
 * Prometheus Operator's kinds), the shard wiring checked, and the PrometheusRule — generated
 * from config/alerts/ — checked by promtool (syntax and the alert unit tests) and against drift.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as core from 'kubernetes-models/v1';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { PROMETHEUS_RULE_FILE, renderPrometheusRule } from '../../scripts/generate-kubernetes.js';
import { loadConfig } from '../../src/config/load.js';
import { REPO_ROOT } from './queries.js';
import { PROMTOOL, needTool, run, type Tool } from './tools.js';

const KUBECTL: Tool = { name: 'kubectl', install: 'apt-get install kubectl', requiredInCi: true };
const DIR = join(REPO_ROOT, 'config/kubernetes');

interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly spec?: Record<string, unknown>;
  readonly data?: Record<string, string>;
}

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** The schemas of the kinds the manifests use, by apiVersion. */
const MODELS: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'policy/v1': policy,
  'monitoring.coreos.com/v1': monitoring,
};

/** The model class that validates `kind` of `apiVersion`. */
function modelOf(object: K8sObject): new (data: unknown) => { validate(): void } {
  const model = MODELS[object.apiVersion]?.[object.kind];
  if (typeof model !== 'function') {
    throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  }
  return model as new (data: unknown) => { validate(): void };
}

async function validate(object: K8sObject): Promise<string | undefined> {
  const Model = modelOf(object);
  try {
    new Model(object).validate();
    return undefined;
  } catch (error) {
    return `${object.kind}/${object.metadata.name}: ${(error as Error).message}`;
  }
}

function render(kubectl: string): K8sObject[] {
  const result = run(kubectl, ['kustomize', DIR]);
  expect(result.status, result.output).toBe(0);
  return parseAllDocuments(result.stdout).map((doc) => doc.toJSON() as K8sObject);
}

function find<T = K8sObject>(objects: K8sObject[], kind: string): T {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as T;
}

interface Container {
  readonly env: { name: string; value?: string }[];
  readonly securityContext: Record<string, unknown>;
  readonly ports: { name: string }[];
  readonly volumeMounts: { name: string; mountPath: string }[];
}
interface StatefulSet extends K8sObject {
  readonly spec: {
    replicas: number;
    serviceName: string;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        securityContext: Record<string, unknown>;
        containers: Container[];
        volumes: { name: string; secret?: { secretName: string }; configMap?: { name: string } }[];
      };
    };
  };
}

describe('the Kubernetes manifests', () => {
  it('carry the alert rules generated from config/alerts/ (npm run generate:kubernetes)', async () => {
    expect(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')).toBe(await renderPrometheusRule());
  });

  it('validate against the Kubernetes schemas file by file (no kubectl needed)', async () => {
    const problems: string[] = [];
    for (const name of readdirSync(DIR).filter(
      (f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'monitor.yaml',
    )) {
      const object = parseYaml(readFileSync(join(DIR, name), 'utf8')) as K8sObject;
      const problem = await validate(object);
      if (problem !== undefined) problems.push(`${name}: ${problem}`);
    }
    expect(problems).toEqual([]);
    // and the schemas do catch a broken object
    expect(
      await validate({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'x' },
        spec: { replicas: 'three' },
      }),
    ).toMatch(/replicas/);
  });

  it('render with kubectl kustomize into valid objects wired as shards', async (ctx) => {
    const kubectl = needTool(ctx, KUBECTL);
    const objects = render(kubectl);
    const problems = (await Promise.all(objects.map(validate))).filter((p) => p !== undefined);
    expect(problems).toEqual([]);
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'ConfigMap',
      'PodDisruptionBudget',
      'PrometheusRule',
      'Service',
      'ServiceMonitor',
      'StatefulSet',
    ]);
    // secrets by reference only: no Secret object, no secret value in any manifest
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);

    const sts = find<StatefulSet>(objects, 'StatefulSet');
    const container = sts.spec.template.spec.containers[0]!;
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    expect(env['MONITOR_SHARD']).toBe('auto');
    expect(Number(env['MONITOR_SHARDS'])).toBe(sts.spec.replicas);
    expect(env['MONITOR_TOKEN_STORE']).toBeUndefined();
    expect(env['MONITOR_TOKEN_STORE_FILE']).toMatch(/^\/run\/secrets\//);
    expect(env['B24_CLIENT_SECRET_FILE']).toMatch(/^\/run\/secrets\//);
    expect(
      sts.spec.template.spec.volumes.find((v) => v.name === 'secrets')?.secret?.secretName,
    ).toBe('b24-offline-monitor');
    expect(sts.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(Number(sts.spec.template.spec.securityContext['runAsUser'])).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });

    // the headless Service selects the pods and names the port the ServiceMonitor scrapes
    const service = find<
      K8sObject & {
        spec: { clusterIP: string; selector: Record<string, string>; ports: { name: string }[] };
      }
    >(objects, 'Service');
    expect(service.spec.clusterIP).toBe('None');
    expect(service.metadata.name).toBe(sts.spec.serviceName);
    expect(sts.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(sts.spec.template.metadata.labels).toMatchObject(sts.spec.selector.matchLabels);
    const monitor = find<
      K8sObject & {
        spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
      }
    >(objects, 'ServiceMonitor');
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(service.spec.ports.map((p) => p.name)).toContain(monitor.spec.endpoints[0]?.port);
    expect(container.ports.map((p) => p.name)).toContain('metrics');
    // the rules' target-down alert looks for job="b24-offline-monitor": the Service's name
    expect(service.metadata.name).toBe('b24-offline-monitor');
    const pdb = find<K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(
      objects,
      'PodDisruptionBudget',
    );
    expect(sts.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);

    // the config every shard reads is a valid config, with the pod's environment
    const configMap = find(objects, 'ConfigMap');
    const dir = mkdtempSync(join(tmpdir(), 'b24-k8s-'));
    tempDirs.push(dir);
    const configPath = join(dir, 'monitor.yaml');
    writeFileSync(configPath, configMap.data?.['monitor.yaml'] ?? '');
    const loaded = loadConfig({
      env: { ...env, MONITOR_CONFIG: configPath, MONITOR_SHARD: '2' },
      hostname: 'b24-offline-monitor-2',
      readFile: (path) => {
        if (path === configPath) return readFileSync(path, 'utf8');
        if (path === '/run/secrets/b24/token-store') return 'redis://:pw-0123456789@redis:6379/0';
        if (path.startsWith('/run/secrets/')) return 'secret-value-0123456789';
        throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      },
      statFile: () => ({ mode: 0o100400 }),
    });
    expect(loaded.ok ? [] : loaded.problems).toEqual([]);
    if (loaded.ok) expect(loaded.config).toMatchObject({ shards: 3, shard: 2 });
  });

  it("give promtool a PrometheusRule whose rules pass check rules and the alerts' unit tests", (ctx) => {
    const promtool = needTool(ctx, PROMTOOL);
    const rule = parseYaml(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')) as {
      spec: { groups: unknown[] };
    };
    const dir = mkdtempSync(join(tmpdir(), 'b24-k8s-rules-'));
    tempDirs.push(dir);
    const rulesFile = join(dir, 'rules.yml');
    writeFileSync(rulesFile, stringifyYaml({ groups: rule.spec.groups }));
    const checked = run(promtool, ['check', 'rules', rulesFile]);
    expect(checked.status, checked.output).toBe(0);
    // the unit tests of config/alerts/tests, run against the rules taken from the PrometheusRule
    const testsDir = join(REPO_ROOT, 'config/alerts/tests');
    for (const name of readdirSync(testsDir).filter((f) => f.endsWith('.yml'))) {
      const tests = parseYaml(readFileSync(join(testsDir, name), 'utf8')) as Record<
        string,
        unknown
      >;
      const testFile = join(dir, name);
      writeFileSync(testFile, stringifyYaml({ ...tests, rule_files: [rulesFile] }));
      const tested = run(promtool, ['test', 'rules', testFile]);
      expect(tested.status, tested.output).toBe(0);
    }
  });
});

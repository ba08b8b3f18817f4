/**
 * Every Grafana dashboard of config/grafana/dashboards type-checked by tsc against Grafana's
 * own dashboard types (`@grafana/schema`, the types Grafana's frontend is written against).
 *
 * A JSON file imported into TypeScript has every string widened to `string`, which no string
 * enum of the schema accepts, so the check writes each dashboard as an object literal into a
 * small .ts file (under .tmp/) and checks it with `satisfies AsJson<Dashboard>`: the schema
 * with each string enum replaced by the union of its values, i.e. what the JSON may hold.
 * Object literals also get excess-property checks, so a misspelt field fails too.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './queries.js';

const DASHBOARD_DIR = 'config/grafana/dashboards';
const WORK_DIR = join(REPO_ROOT, '.tmp', 'dashboard-schema');
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const AS_JSON = `
type AsJson<T> = T extends string
  ? \`\${T}\`
  : T extends readonly (infer U)[]
    ? AsJson<U>[]
    : T extends object
      ? { [K in keyof T]: AsJson<T[K]> }
      : T;
`;

function writeCheck(name: string, json: string): string {
  const file = join(WORK_DIR, `${name}.ts`);
  writeFileSync(
    file,
    `import type { Dashboard } from '@grafana/schema';\n${AS_JSON}\n` +
      `export const dashboard = (${json.trim()}) satisfies AsJson<Dashboard>;\n`,
  );
  return file;
}

/**
 * One tsc run over every check file (tsc is slow to start); its messages by file name. The
 * project written next to the check files holds only what the check needs: no DOM library
 * and no @types package (the default loads @types/node, 3 times the lines of everything
 * else: a third of tsc's time), so the messages are the same and tsc takes ~1.5 s less.
 */
function typeCheck(files: Record<string, string>): Map<string, string> {
  rmSync(WORK_DIR, { recursive: true, force: true });
  mkdirSync(WORK_DIR, { recursive: true });
  const paths = Object.entries(files).map(([name, json]) => writeCheck(name, json));
  const project = join(WORK_DIR, 'tsconfig.json');
  writeFileSync(
    project,
    JSON.stringify({
      compilerOptions: {
        noEmit: true,
        strict: true,
        skipLibCheck: true,
        target: 'ES2022',
        lib: ['ES2022'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        types: [],
      },
      files: paths,
    }),
  );
  const result = spawnSync(process.execPath, [TSC, '--project', project], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (result.error) throw result.error;
  const output = `${result.stdout}${result.stderr}`;
  const byFile = new Map<string, string>();
  for (const name of Object.keys(files)) {
    const mine = output
      .split('\n')
      .filter((line) => line.startsWith(`.tmp/dashboard-schema/${name}.ts(`));
    byFile.set(name, mine.join('\n'));
  }
  // Anything tsc said that names no check file (a bad option, a missing package) fails all.
  const stray = output
    .split('\n')
    .filter((l) => /error TS/.test(l) && !l.startsWith('.tmp/dashboard-schema/'));
  if (stray.length > 0) throw new Error(stray.join('\n'));
  return byFile;
}

function loadDashboardJson(): { panels: Record<string, unknown>[]; [key: string]: unknown } {
  return JSON.parse(
    readFileSync(join(REPO_ROOT, DASHBOARD_DIR, 'b24-offline-monitor.json'), 'utf8'),
  ) as { panels: Record<string, unknown>[]; [key: string]: unknown };
}

const dashboards = readdirSync(join(REPO_ROOT, DASHBOARD_DIR)).filter((f) => f.endsWith('.json'));

const brokenPanel = loadDashboardJson();
{
  const panel = brokenPanel.panels.find((p) => p['fieldConfig'] !== undefined)!;
  (panel['fieldConfig'] as { defaults: { color?: unknown } }).defaults.color = { mode: 'rainbow' };
  (panel['gridPos'] as { w: unknown }).w = '12';
}
const brokenField = { ...loadDashboardJson(), refreshh: '30s' };

let results: Map<string, string>;
beforeAll(() => {
  results = typeCheck({
    ...Object.fromEntries(
      dashboards.map((file) => [
        file.replace(/\.json$/, ''),
        readFileSync(join(REPO_ROOT, DASHBOARD_DIR, file), 'utf8'),
      ]),
    ),
    'broken-panel': JSON.stringify(brokenPanel, null, 2),
    'broken-field': JSON.stringify(brokenField, null, 2),
  });
}, 120_000);

describe("dashboards against Grafana's schema (@grafana/schema)", () => {
  it('there is a dashboard to check', () => {
    expect(dashboards).toContain('b24-offline-monitor.json');
  });

  it.each(dashboards)('%s type-checks as a Grafana Dashboard', (file) => {
    expect(results.get(file.replace(/\.json$/, ''))).toBe('');
  });

  it('the check rejects a wrong color mode and a grid width given as a string', () => {
    const output = results.get('broken-panel');

    expect(output).toMatch(/'"rainbow"' is not assignable/);
    expect(output).toMatch(/'string' is not assignable to type 'number'/);
  });

  it('the check rejects a misspelt field', () => {
    expect(results.get('broken-field')).toMatch(/'"refreshh"' does not exist in type/);
  });
});

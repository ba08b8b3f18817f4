/**
 * Dockerfile, .dockerignore and the compose files, checked without a Docker engine:
 * dockerfile-utils and dclint (compose-spec schema) lint them, docker-compose v1 validates
 * the compose files when it is installed, and the rest is read as data. The image's
 * HEALTHCHECK command is run for real against a local HTTP server.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from './queries.js';
import { DCLINT, DOCKERFILE_UTILS, DOCKER_COMPOSE_V1, needTool, run } from './tools.js';

const COMPOSE_FILES = ['docker-compose.yml', 'docker-compose.portal.yml'];

// ── Dockerfile ───────────────────────────────────────────────────────────────────────────
interface Instruction {
  readonly keyword: string;
  readonly args: string;
}
interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

const dockerfileText = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');

function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', rest = ''] = /^(\w+)\s*(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const [, image = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? [];
      stages.push({
        from: image.replace(/\$\{?(\w+)\}?/g, (_, v: string) => args.get(v) ?? ''),
        name,
        instructions: [],
      });
    } else if (upper === 'ARG' && stages.length === 0) {
      const [name = '', value = ''] = rest.split('=');
      args.set(name, value);
    } else {
      stages.at(-1)?.instructions.push({ keyword: upper, args: rest });
    }
  }
  return { args, stages };
}

const { stages } = parseDockerfile(dockerfileText);
const final = stages.at(-1);
const finalOf = (keyword: string): Instruction[] =>
  (final?.instructions ?? []).filter((i) => i.keyword === keyword);

/** The HEALTHCHECK's shell command. */
function healthcheckCommand(): string {
  const [healthcheck] = finalOf('HEALTHCHECK');
  const m = /\bCMD\s+(.*)$/.exec(healthcheck?.args ?? '');
  if (!m?.[1]) throw new Error('no HEALTHCHECK CMD in the final stage');
  return m[1];
}

function runShell(command: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    execFile(
      '/bin/sh',
      ['-c', command],
      { env: { ...process.env, ...env }, timeout: 15_000 },
      (error) => {
        resolve(error ? (typeof error.code === 'number' ? error.code : 1) : 0);
      },
    );
  });
}

const servers: Server[] = [];
async function serve(status: number): Promise<number> {
  const server = createServer((req, res) => {
    res.statusCode = req.url === '/healthz' ? status : 404;
    res.end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const tempDirs: string[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('Dockerfile', () => {
  it('passes dockerfile-utils lint with no error or warning', (ctx) => {
    const lint = needTool(ctx, DOCKERFILE_UTILS);

    const result = run(lint, ['lint', 'Dockerfile']);

    expect(result.status, result.output).toBe(0);
    expect(result.output).not.toMatch(/\b(Error|Warning):/);
  });

  it('builds in several stages from Node 24, the current LTS', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.from).toMatch(/^node:24[-.]/);
  });

  it('compiles TypeScript in a build stage and copies only dist/ and production dependencies', () => {
    const copies = finalOf('COPY').map((c) => c.args);
    const stageRuns = (name: string): string =>
      stages
        .find((s) => s.name === name)
        ?.instructions.filter((i) => i.keyword === 'RUN')
        .map((i) => i.args)
        .join('\n') ?? '';
    const fromStage = (target: string): string | undefined =>
      /--from=(\S+)/.exec(copies.find((c) => c.trim().endsWith(target)) ?? '')?.[1];

    const distStage = fromStage('./dist');
    const modulesStage = fromStage('./node_modules');

    expect(distStage).toBeDefined();
    expect(stageRuns(distStage ?? '')).toMatch(/npm ci\b/);
    expect(stageRuns(distStage ?? '')).toMatch(/npm run build/);
    expect(modulesStage).toBeDefined();
    expect(stageRuns(modulesStage ?? '')).toMatch(/npm ci --omit=dev --ignore-scripts/);
    // Nothing else from the context: no sources, no tests, no TypeScript.
    expect(copies.filter((c) => !c.startsWith('--from='))).toEqual([
      'package.json ./',
      'bin ./bin',
    ]);
    expect(
      finalOf('RUN')
        .map((r) => r.args)
        .join('\n'),
    ).not.toMatch(/npm (ci|install)/);
  });

  it('runs as a non-root user, with the token volume, the port and the start command', () => {
    const user = finalOf('USER').at(-1)?.args ?? 'root';

    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(
      finalOf('VOLUME')
        .map((v) => v.args)
        .join(' '),
    ).toContain('/app/data');
    expect(finalOf('EXPOSE').map((e) => e.args)).toContain('9464');
    expect(finalOf('WORKDIR').at(-1)?.args).toBe('/app');
    expect(finalOf('ENTRYPOINT').at(-1)?.args).toBe('["node", "dist/cli.js"]');
    expect(finalOf('CMD').at(-1)?.args).toBe('["start"]');
  });

  it('is the runtime the README recommends, and the README says which versions are supported', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const supported = readme.slice(readme.indexOf('## Supported Node.js versions'));
    const image = final?.from ?? '';

    expect(readme).toContain(`Multi-stage build on \`${image}\``);
    expect(supported).toMatch(
      new RegExp(`^\\| ${image.split(/[:-]/)[1]} +\\| \\*\\*recommended\\*\\*`, 'm'),
    );
    expect(supported).toMatch(/^\| 20 +\| supported and tested/m);
  });

  it('states its expected size', () => {
    expect(dockerfileText).toMatch(/Expected size: about \d+ MB/);
  });

  it('has a HEALTHCHECK on /healthz that needs neither curl nor wget', () => {
    const command = healthcheckCommand();

    expect(finalOf('HEALTHCHECK')).toHaveLength(1);
    expect(command).toMatch(/^node -e /);
    expect(command).toContain('/healthz');
    expect(command).not.toMatch(/\b(curl|wget)\b/);
  });

  it('HEALTHCHECK command: 0 when /healthz answers 200, 1 otherwise', async () => {
    const command = healthcheckCommand();
    const healthy = await serve(200);
    const unhealthy = await serve(503);
    const closed = await serve(200);
    await new Promise((resolve) => servers.at(-1)?.close(resolve));

    const results = await Promise.all([
      runShell(command, { MONITOR_LISTEN: `0.0.0.0:${healthy}` }),
      runShell(command, { MONITOR_LISTEN: `127.0.0.1:${healthy}` }),
      runShell(command, { MONITOR_LISTEN: `0.0.0.0:${unhealthy}` }),
      runShell(command, { MONITOR_LISTEN: `0.0.0.0:${closed}` }),
    ]);

    expect(results).toEqual([0, 0, 1, 1]);
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const ignored = (path: string): boolean =>
    patterns.some((p) => {
      const re = new RegExp(
        `^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`,
      );
      return re.test(path);
    });

  it.each(['.git', 'node_modules', 'dist', 'data', 'secrets', 'test', 'coverage', '.env'])(
    'keeps %s out of the build context',
    (path) => {
      expect(ignored(path)).toBe(true);
    },
  );

  it.each([
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'src',
    'src/cli.ts',
    'bin',
  ])('keeps %s, which the build needs', (path) => {
    expect(ignored(path)).toBe(false);
  });
});

// ── Compose ──────────────────────────────────────────────────────────────────────────────
interface ComposeService {
  readonly build?: { readonly context?: string } | string;
  readonly image?: string;
  readonly command?: readonly string[];
  readonly environment?: Readonly<Record<string, string>>;
  readonly ports?: readonly string[];
  readonly volumes?: readonly string[];
  readonly secrets?: readonly string[];
}
interface ComposeFile {
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly secrets?: Readonly<Record<string, { readonly file?: string }>>;
}
const loadCompose = (file: string): ComposeFile =>
  parseYaml(readFileSync(join(REPO_ROOT, file), 'utf8')) as ComposeFile;
const stack = loadCompose('docker-compose.yml');
const portal = loadCompose('docker-compose.portal.yml');
const containerPorts = (service: ComposeService | undefined): string[] =>
  (service?.ports ?? []).map((p) => p.split(':').at(-1) ?? '');

describe('compose files', () => {
  it('pass dclint (compose-spec schema and style) with no error or warning', (ctx) => {
    const dclint = needTool(ctx, DCLINT);

    const result = run(dclint, [...COMPOSE_FILES, '-f', 'json']);
    const report = JSON.parse(result.stdout) as {
      filePath: string;
      errorCount: number;
      warningCount: number;
    }[];

    expect(result.status, result.output).toBe(0);
    expect(report.map((r) => r.filePath).sort()).toEqual([...COMPOSE_FILES].sort());
    for (const file of report) {
      expect([file.filePath, file.errorCount, file.warningCount]).toEqual([file.filePath, 0, 0]);
    }
  });

  it('pass `docker-compose config -q` (Compose v1), alone and with the portal override', (ctx) => {
    const dockerCompose = needTool(ctx, DOCKER_COMPOSE_V1);
    const dir = mkdtempSync(join(tmpdir(), 'b24-compose-'));
    tempDirs.push(dir);
    // Compose v1 predates the top-level `name` key; everything else is the same file.
    for (const file of COMPOSE_FILES) {
      const text = readFileSync(join(REPO_ROOT, file), 'utf8').replace(/^name: .*$/m, '');
      writeFileSync(join(dir, file), text);
    }
    const args = (files: string[]): string[] => [
      ...files.flatMap((f) => ['-f', join(dir, f)]),
      '--project-directory',
      REPO_ROOT,
      'config',
      '-q',
    ];
    const env = {
      B24_PORTAL_URL: 'https://example.bitrix24.com/rest/',
      B24_CLIENT_ID: 'local.test',
    };

    const alone = run(dockerCompose, args(['docker-compose.yml']));
    const withPortal = run(dockerCompose, args(COMPOSE_FILES), { env });
    const portalUnset = run(dockerCompose, args(COMPOSE_FILES), {
      env: { B24_PORTAL_URL: '', B24_CLIENT_ID: '' },
    });

    expect(alone.status, alone.output).toBe(0);
    expect(withPortal.status, withPortal.output).toBe(0);
    expect(portalUnset.status).not.toBe(0);
    expect(portalUnset.output).toContain('set B24_PORTAL_URL in .env');
  });

  it('run the monitor in demo mode, built from this repository, listening on all interfaces', () => {
    const monitor = stack.services['monitor'];
    const context = typeof monitor?.build === 'string' ? monitor.build : monitor?.build?.context;

    expect(context).toBe('.');
    expect(monitor?.command).toEqual(['demo']);
    expect(monitor?.environment?.['MONITOR_LISTEN']).toBe('0.0.0.0:9464');
    expect(monitor?.volumes).toContain('monitor-data:/app/data');
    expect(containerPorts(monitor)).toContain('9464');
  });

  it('wire Prometheus to the monitor and Alertmanager under their service names', () => {
    const prometheus = parseYaml(
      readFileSync(join(REPO_ROOT, 'config/prometheus/prometheus.yml'), 'utf8'),
    ) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    };
    const scraped = prometheus.scrape_configs.flatMap((s) =>
      s.static_configs.flatMap((c) => c.targets),
    );
    const alertmanagers = prometheus.alerting.alertmanagers.flatMap((a) =>
      a.static_configs.flatMap((c) => c.targets),
    );

    expect(scraped).toContain('monitor:9464');
    expect(alertmanagers).toEqual(['alertmanager:9093']);
    expect(containerPorts(stack.services['alertmanager'])).toContain('9093');
    expect(Object.keys(stack.services).sort()).toEqual([
      'alertmanager',
      'grafana',
      'monitor',
      'prometheus',
    ]);
    expect(prometheus.scrape_configs.map((s) => s.job_name)).toContain('b24-offline-monitor');
  });

  it('publish Grafana on port 3000 with anonymous read-only access', () => {
    const grafana = stack.services['grafana'];

    expect(grafana?.ports).toContain('127.0.0.1:3000:3000');
    expect(grafana?.environment?.['GF_AUTH_ANONYMOUS_ENABLED']).toBe('true');
    expect(grafana?.environment?.['GF_AUTH_ANONYMOUS_ORG_ROLE']).toBe('Viewer');
  });

  it('pin every image to a version', () => {
    for (const [name, service] of Object.entries(stack.services)) {
      if (service.image === undefined) continue;
      expect(service.image, name).toMatch(/:v?\d+\.\d+\.\d+$/);
    }
  });

  it('give the real portal its secrets only as Docker secrets through *_FILE variables', () => {
    const monitor = portal.services['monitor'];
    const environment = monitor?.environment ?? {};
    const fileVars = Object.entries(environment).filter(([name]) => name.endsWith('_FILE'));

    expect(monitor?.command).toEqual(['start']);
    expect(fileVars.map(([name]) => name).sort()).toEqual([
      'B24_CLIENT_SECRET_FILE',
      'B24_REFRESH_TOKEN_FILE',
    ]);
    for (const [name, value] of fileVars) {
      const secret = /^\/run\/secrets\/(\w+)$/.exec(value)?.[1];
      expect(secret, name).toBeDefined();
      expect(monitor?.secrets).toContain(secret);
      expect(portal.secrets?.[secret ?? '']?.file, secret).toMatch(/^\.\/secrets\//);
    }
    for (const plain of ['B24_CLIENT_SECRET', 'B24_REFRESH_TOKEN', 'B24_ACCESS_TOKEN']) {
      expect(environment[plain], plain).toBeUndefined();
    }
  });
});

import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { loadConfig } from '../../src/config/load.js';
import type { LoadConfigInput, LoadConfigResult } from '../../src/config/load.js';
import type { MonitorConfig } from '../../src/config/types.js';

/** Secret values used across the tests: none may ever appear in a problem or a warning. */
export const SECRETS = {
  clientSecret: 'client-secret-Q7w9e8r7',
  refreshToken: 'refresh-token-Z1x2c3v4',
  accessToken: 'access-token-M5n6b7v8',
  bearer: 'bearer-token-K9j8h7g6',
  password: 'basic-password-P0o9i8u7',
  fileSecret: 'file-secret-L1k2j3h4',
} as const;

export const ALL_SECRETS: readonly string[] = Object.values(SECRETS);

/** A complete single-portal environment. */
export const BASE_ENV = {
  B24_PORTAL_URL: 'https://acme.bitrix24.com/rest/',
  B24_CLIENT_ID: 'app.5f3c1e2a4b6d71.12345678',
  B24_CLIENT_SECRET: SECRETS.clientSecret,
  B24_REFRESH_TOKEN: SECRETS.refreshToken,
} as const;

export type FileSpec =
  string | { readonly text: string; readonly mode?: number } | { readonly directory: true };

/** A fresh temp directory with the given files (paths relative to it). */
export async function makeDir(files: Readonly<Record<string, FileSpec>> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'b24-config-'));
  for (const [name, spec] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    if (typeof spec === 'string') {
      await writeFile(path, spec, { mode: 0o600 });
    } else if ('directory' in spec) {
      await mkdir(path, { recursive: true });
    } else {
      await writeFile(path, spec.text);
      await chmod(path, spec.mode ?? 0o600);
    }
  }
  return dir;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export function load(cwd: string, env: LoadConfigInput['env']): LoadConfigResult {
  return loadConfig({ env, cwd });
}

export function expectConfig(result: LoadConfigResult): {
  config: MonitorConfig;
  warnings: string[];
} {
  if (!result.ok) {
    throw new Error(
      `expected a valid config, got problems: ${JSON.stringify(result.problems, null, 2)}`,
    );
  }
  return result;
}

/** `n` portals of one marketplace app, as YAML text. */
export function manyPortalsYaml(n: number): string {
  const lines = [
    'defaults:',
    '  clientId: app.5f3c1e2a4b6d71.12345678',
    `  clientSecret: ${SECRETS.clientSecret}`,
    "  schedule: '*/30 * * * * *'",
    'portals:',
  ];
  for (let i = 0; i < n; i += 1) {
    lines.push(`  - url: https://p${i}.bitrix24.com/rest/`, `    refreshToken: rt-${i}-abcdefgh`);
  }
  return `${lines.join('\n')}\n`;
}

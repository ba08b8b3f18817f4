/**
 * vitest globalSetup: chooses once, before any test file runs, how tests start the real CLI
 * (`inject('cliEntry')`, the arguments after `node`). `node --import tsx src/cli.ts` costs about
 * 1.3 s per start on this machine, `node dist/cli.js` about 0.45 s, and the suites start the CLI
 * some 100 times: the build when it is at least as new as every source file, else a one-file
 * bundle of `src/cli.ts` made with esbuild (tsx's own compiler, ~0.2 s; kept in
 * node_modules/.cache so bare imports resolve), else tsx.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    cliEntry: readonly string[];
  }
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every source file under `dir`, with what changes when it is edited. */
async function sources(dir: string): Promise<{ path: string; mtimeMs: number; size: number }[]> {
  const out: { path: string; mtimeMs: number; size: number }[] = [];
  for (const item of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    if (item.isDirectory()) out.push(...(await sources(path)));
    else if (item.name.endsWith('.ts')) {
      const { mtimeMs, size } = await stat(path);
      out.push({ path, mtimeMs, size });
    }
  }
  return out;
}

interface Esbuild {
  build(options: Record<string, unknown>): Promise<unknown>;
}

async function chooseEntry(): Promise<readonly string[]> {
  const files = await sources(join(ROOT, 'src'));
  const newest = Math.max(...files.map((f) => f.mtimeMs));
  const built = await stat(join(ROOT, 'dist/cli.js')).catch(() => undefined);
  if (built !== undefined && built.mtimeMs >= newest) return ['dist/cli.js'];
  try {
    const specifier = 'esbuild';
    const esbuild = (await import(specifier)) as Esbuild;
    const dir = join(ROOT, 'node_modules/.cache/b24-cli-bundle');
    await mkdir(dir, { recursive: true });
    // Named after the sources: runs share one bundle, rebuilt only after an edit.
    const hash = createHash('sha1').update(JSON.stringify(files)).digest('hex').slice(0, 12);
    const outfile = join(dir, `cli-${hash}.mjs`);
    if ((await stat(outfile).catch(() => undefined)) === undefined) {
      const temp = join(dir, `cli-${hash}.${process.pid}.tmp.mjs`);
      await esbuild.build({
        entryPoints: [join(ROOT, 'src/cli.ts')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        outfile: temp,
        logLevel: 'silent',
      });
      await rename(temp, outfile); // atomic: a concurrent run never sees half a bundle
    }
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      const old = Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0);
      if (path !== outfile && old > 10 * 60_000) await rm(path, { force: true });
    }
    return [outfile];
  } catch {
    return ['--import', 'tsx', 'src/cli.ts'];
  }
}

export default async function setup(project: TestProject): Promise<void> {
  project.provide('cliEntry', await chooseEntry());
}

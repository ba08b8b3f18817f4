/**
 * A real headless Chromium (Debian's `chromium`) driven by puppeteer-core, which downloads no
 * browser of its own. Missing Chromium skips the test on a developer's machine, saying why,
 * and fails it in CI (`CI` set: .ci/run installs the package).
 */
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import type { TestContext } from 'vitest';

/** Where tests leave what a person may want to look at (gitignored). */
const ARTIFACTS_DIR = join(import.meta.dirname, '..', '..', '.tmp', 'artifacts');

/** `CHROMIUM_PATH`, when set, is the only candidate. */
function candidates(): string[] {
  const chosen = process.env['CHROMIUM_PATH'];
  if (chosen !== undefined && chosen !== '') return [chosen];
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
}

export function findChromium(): string | undefined {
  for (const path of candidates()) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** Fails in CI, skips elsewhere, when there is no Chromium. */
export function needChromium(ctx: TestContext): string {
  const path = findChromium();
  if (path !== undefined) return path;
  const missing = 'chromium not found (install: apt-get install chromium, or set CHROMIUM_PATH)';
  if (process.env['CI']) throw new Error(`${missing}; it is required in CI`);
  return ctx.skip(`${missing}; skipped (CI=true makes this a failure)`);
}

export interface RunningBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(executablePath: string): Promise<RunningBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'b24-chromium-'));
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    userDataDir: profile,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}

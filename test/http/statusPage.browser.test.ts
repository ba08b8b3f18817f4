/**
 * The status page in a real browser (headless Chromium through puppeteer-core), as a person
 * sees it: 1,000 simulated portals, one of which has lost its authorization and must be on
 * top; the error backlogs highlighted; filter, pages, a portal's own page; nothing loaded
 * from anywhere else. Screenshots go to .tmp/artifacts/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Monitor } from '../../src/app.js';
import type { MonitorServer } from '../../src/http/server.js';
import { SimServer, type SimPortal } from '../../src/sim/index.js';
import {
  artifactPath,
  findChromium,
  launchChromium,
  needChromium,
  type RunningBrowser,
} from '../helpers/browser.js';
import { issuedSecrets, serveMonitor, startFleetMonitor } from '../helpers/harness.js';
import { scanLogsForSecretsAfterAll } from '../helpers/leaks.js';
import { captureLogger } from '../helpers/logs.js';

scanLogsForSecretsAfterAll();

const PORTALS = 1000;
const FAILING = 537;
const name = (i: number): string => `shop-${String(i).padStart(4, '0')}.bitrix24.example`;

let sim: SimServer;
let dir: string;
let monitor: Monitor;
let server: MonitorServer;
let dispatcher: Agent;
let running: RunningBrowser | undefined;
const log = captureLogger('error');

beforeAll(async () => {
  // Without a browser every test skips (or fails, in CI): spare the 1,000 portals.
  if (findChromium() === undefined && !process.env['CI']) return;
  sim = await SimServer.start();
  dir = await mkdtemp(join(tmpdir(), 'b24-status-'));
  const now = Date.now();
  const entries: string[] = [];
  const portals: SimPortal[] = [];
  for (let i = 0; i < PORTALS; i++) {
    const portal = sim.addPortal(`p${i}`, {
      rateLimit: null,
      events: ['ONCRMLEADADD', 'ONCRMDEALUPDATE', 'ONTASKADD'],
    });
    // Every portal has some queued and reserved rows, a few minutes old; every 97th has
    // error rows; one has a queue nobody consumed for two hours.
    const errors = i % 97 === 5 ? (i % 9) + 1 : 0;
    portal.fill({
      counts: {
        ONCRMLEADADD: { queued: i % 7, reserved: i % 2, error: errors },
        ONCRMDEALUPDATE: { queued: i % 5, error: errors > 3 ? 2 : 0 },
        ONTASKADD: { queued: i === 250 ? 40 : i % 3 },
      },
      newestMs: now - 5_000,
      oldestMs: now - (i === 250 ? 7_200_000 : 60_000 + (i % 11) * 30_000),
    });
    const { refreshToken, accessToken } = portal.authorize('monitor');
    issuedSecrets.add(refreshToken).add(accessToken);
    portals.push(portal);
    entries.push(
      `  - { name: "${name(i)}", url: "${portal.restUrl}", refreshToken: "${refreshToken}", accessToken: "${accessToken}", tokenFile: "${join(dir, 'tokens', `p${i}.json`)}" }`,
    );
  }
  ({ monitor, dispatcher } = await startFleetMonitor(
    dir,
    { sim, portals, entries, top: ['maxConcurrentPolls: 16'] },
    log.logger,
  ));
  const first = await monitor.pollOnce();
  const failedFirst = first.filter((r) => !r.ok).map((r) => `${r.portal}: ${r.error?.message}`);
  if (failedFirst.length > 0) throw new Error(failedFirst.join('\n'));
  // Then the administrator's authorization of one portal is revoked: its next poll fails
  // with reason auth, and its queue figures are those of the last good poll.
  portals[FAILING]!.revokeRefreshTokens('monitor');
  portals[FAILING]!.expireAccessTokens('monitor');
  const failing = monitor.pollers.find((p) => p.name === name(FAILING))!;
  const report = await failing.poll();
  if (report.ok || report.error?.reason !== 'auth')
    throw new Error(`expected an auth failure, got ${JSON.stringify(report.error?.reason)}`);
  server = await serveMonitor(monitor, log.logger);
}, 180_000);

afterAll(async () => {
  await running?.close();
  await server?.close();
  await monitor?.close();
  await dispatcher?.close();
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

async function browserPage(ctx: Parameters<typeof needChromium>[0]): Promise<Page> {
  const executable = needChromium(ctx);
  running ??= await launchChromium(executable);
  const page = await running.browser.newPage();
  await page.setViewport({ width: 1400, height: 1000 });
  return page;
}

/** Every request the page makes, as URLs. */
function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  return urls;
}

/** The one DOM function the checks call in the page (the project's types have no DOM lib). */
interface Window {
  getComputedStyle(element: unknown): { backgroundColor: string };
}

interface SeenRow {
  readonly portal: string;
  readonly cells: string[];
  readonly background: string;
}

/** The portal table's rows as rendered: visible text of each cell, the row's background. */
function seenRows(page: Page): Promise<SeenRow[]> {
  return page.$$eval('#portals tbody tr', (rows) =>
    rows.map((row) => ({
      portal: row.querySelector('td')?.innerText.trim() ?? '',
      cells: [...row.querySelectorAll('td')].map((td) => td.innerText.trim()),
      background: (globalThis as unknown as Window).getComputedStyle(row.querySelector('td')!)
        .backgroundColor,
    })),
  );
}

/** `rgb(r, g, b)` → [r, g, b]. */
function rgb(css: string): number[] {
  return (css.match(/\d+/g) ?? []).slice(0, 3).map(Number);
}

describe('status page in Chromium, 1,000 portals, one failing', () => {
  it('shows the failing portal on top, in words, highlighted; then the error backlogs', async (ctx) => {
    const page = await browserPage(ctx);
    const requests = recordRequests(page);

    const response = await page.goto(`${server.url}/`, { waitUntil: 'load' });
    await page.screenshot({ path: artifactPath('status-page.png'), fullPage: false });

    expect(response?.status()).toBe(200);
    const rows = await seenRows(page);
    expect(rows).toHaveLength(50);
    const [top, second] = rows;
    expect(top?.portal).toBe(name(FAILING));
    expect(top?.cells[1]).toMatch(/^failing\s+not authorized: the token pair was refused/);
    // The last good figures are still shown beside the failure.
    expect(top?.cells[2]).toBe(
      String((FAILING % 7) + (FAILING % 2) + (FAILING % 5) + (FAILING % 3)),
    );
    const [r, g, b] = rgb(top!.background);
    expect(r! - Math.max(g!, b!), `failing row background ${top?.background}`).toBeGreaterThan(10);
    // Next: the portals with error rows, most errors first, the error cell in red.
    expect(second?.cells[1]).toBe('error rows');
    const errorCounts = rows
      .filter((row) => row.cells[1] === 'error rows')
      .map((row) => Number(row.cells[5]));
    expect(errorCounts.length).toBeGreaterThan(5);
    expect(errorCounts).toEqual([...errorCounts].sort((x, y) => y - x));
    const errorCell = await page.$eval(
      '#portals tbody tr:nth-child(2) td:nth-child(6)',
      (td) => (globalThis as unknown as Window).getComputedStyle(td).backgroundColor,
    );
    expect(rgb(errorCell)[0]).toBeGreaterThan(150);
    expect(rgb(errorCell)[1]).toBeLessThan(100);
    // Ages in human units, the last poll and its cost.
    expect(second?.cells[6]).toMatch(/^\d+ (s|min)$/);
    expect(second?.cells[7]).toMatch(/^\d+ (s|min)$/);
    expect(second?.cells[8]).toMatch(/^\d+ (s|min) ago$/);
    expect(second?.cells[9]).toMatch(/^\d+ ms · \d+ req · (scan|count)$/);

    const text = await page.$eval('body', (body) => body.innerText);
    expect(text).toContain('1,000 portals, worst first');
    expect(text).toMatch(/1 failing/);
    expect(text).toContain('Portals 1–50 of 1,000');
    expect(text).toContain('page 1 of 20');
    // Refreshes itself; loads nothing but the page itself.
    expect(await page.$eval('meta[http-equiv="refresh"]', (m) => m.getAttribute('content'))).toBe(
      '30',
    );
    expect(await page.$$('script, link[rel="stylesheet"], img, iframe')).toHaveLength(0);
    expect(requests.filter((url) => !url.startsWith(server.url))).toEqual([]);
    await page.close();
  }, 60_000);

  it('a portal with a queue nobody consumes for two hours comes before the quiet ones', async (ctx) => {
    const page = await browserPage(ctx);
    await page.goto(`${server.url}/?q=shop-0250`, { waitUntil: 'load' });

    const rows = await seenRows(page);

    expect(rows.map((r) => r.portal)).toEqual([name(250)]);
    expect(rows[0]?.cells[1]).toBe('queue waits');
    expect(rows[0]?.cells[6]).toMatch(/^(1 h 59 min|2 h)$/);
    await page.close();
  }, 60_000);

  it('filters by name and by problems, and pages through the rest', async (ctx) => {
    const page = await browserPage(ctx);
    await page.goto(`${server.url}/`, { waitUntil: 'load' });

    await page.type('input[name="q"]', '-053');
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    const filtered = await seenRows(page);
    await page.click('input[name="problems"]');
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    const problems = await seenRows(page);
    await page.goto(`${server.url}/`, { waitUntil: 'load' });
    await Promise.all([page.waitForNavigation(), page.click('a[rel="next"]')]);
    const range = await page.$eval('#range', (p) => p.innerText);

    // The failing one first, then the rest of the ten that match, worst first.
    expect(filtered[0]?.portal).toBe(name(FAILING));
    expect(filtered.map((r) => r.portal).sort()).toEqual(
      [530, 531, 532, 533, 534, 535, 536, 537, 538, 539].map(name),
    );
    expect(filtered).toHaveLength(10);
    expect(problems.map((r) => r.portal)).toEqual([name(FAILING)]);
    expect(range).toBe('Portals 51–100 of 1,000');
    await page.close();
  }, 60_000);

  it("a portal's own page: why it fails, its last poll, its event names", async (ctx) => {
    const page = await browserPage(ctx);
    await page.goto(`${server.url}/`, { waitUntil: 'load' });

    await Promise.all([page.waitForNavigation(), page.click('#portals tbody tr:first-child a')]);
    await page.screenshot({ path: artifactPath('status-portal.png'), fullPage: true });
    const details = await page.$eval('#details', (dl) => dl.innerText);
    const events = await page.$$eval('#events tbody tr', (rows) =>
      rows.map((row) => [...row.querySelectorAll('td')].map((td) => td.innerText.trim())),
    );

    expect(page.url()).toBe(`${server.url}/portal/${encodeURIComponent(name(FAILING))}`);
    expect(details).toMatch(/health\s+failing: not authorized/);
    expect(details).toMatch(/reason\s+auth/);
    expect(details).toMatch(/last success\s+\d+ (s|min) ago/);
    expect(events.map((row) => row[0]).sort()).toEqual([
      'ONCRMDEALUPDATE',
      'ONCRMLEADADD',
      'ONTASKADD',
    ]);
    const lead = events.find((row) => row[0] === 'ONCRMLEADADD')!;
    expect(lead.slice(1, 4)).toEqual([String(FAILING % 7), String(FAILING % 2), '0']);
    await page.close();
  }, 60_000);
});

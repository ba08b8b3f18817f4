/**
 * One process monitors 1,000 simulated portals from one config file, each with its own token
 * file and rate limiter, with bounded concurrency.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Monitor } from '../../src/app.js';
import { SimServer, type SimPortal } from '../../src/sim/index.js';
import { issuedSecrets, startFleetMonitor } from '../helpers/harness.js';
import { scanLogsForSecretsAfterAll } from '../helpers/leaks.js';
import { captureLogger } from '../helpers/logs.js';

scanLogsForSecretsAfterAll();

const PORTALS = 1000;
let sim: SimServer;
let dir: string;
let monitor: Monitor;
let dispatcher: Agent;
const portals: SimPortal[] = [];
const log = captureLogger('warn');

beforeAll(async () => {
  sim = await SimServer.start();
  dir = await mkdtemp(join(tmpdir(), 'b24-many-'));
  const entries: string[] = [];
  for (let i = 0; i < PORTALS; i++) {
    const portal = sim.addPortal(`p${i}`, {
      rateLimit: { capacity: 50, drainPerSecond: 2 },
      events: ['ONCRMLEADADD'],
    });
    portal.fill({ counts: { ONCRMLEADADD: { queued: i % 7, error: i % 3 } } });
    const { refreshToken } = portal.authorize('monitor');
    issuedSecrets.add(refreshToken);
    portals.push(portal);
    entries.push(
      `  - { name: p${i}, url: "${portal.restUrl}", refreshToken: "${refreshToken}", tokenFile: "${join(dir, 'tokens', `p${i}.json`)}" }`,
    );
  }
  ({ monitor, dispatcher } = await startFleetMonitor(
    dir,
    {
      sim,
      portals,
      entries,
      top: ['maxConcurrentPolls: 8'],
      defaults: ['  schedule: "*/30 * * * * *"'],
    },
    log.logger,
  ));
}, 60_000);

afterAll(async () => {
  await monitor?.close();
  await dispatcher?.close();
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('1,000 portals in one process', () => {
  it('polls every portal with its own token file, and each sees only its own queue', async () => {
    const reports = await monitor.pollOnce();

    expect(reports.filter((r) => !r.ok).map((r) => r.error?.message)).toEqual([]);
    expect(reports).toHaveLength(PORTALS);
    reports.forEach((report, i) => {
      expect(report.portal).toBe(`p${i}`);
      expect(report.snapshot?.depth).toBe((i % 7) + (i % 3));
    });
    expect((await readdir(join(dir, 'tokens'))).filter((f) => f.endsWith('.json'))).toHaveLength(
      PORTALS,
    );
    for (const portal of portals.slice(0, 50)) {
      const direct = portal.journal.list({ holder: 'monitor' }).filter((e) => !e.viaBatch);
      expect(direct.map((e) => e.method)).toEqual(['batch']);
    }
    const text = await monitor.metrics.registry.metrics();
    expect(text.match(/^b24_offline_up\{portal="p\d+"\} 1$/gm)).toHaveLength(PORTALS);
  }, 60_000);
});

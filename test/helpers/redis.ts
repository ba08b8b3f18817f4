/**
 * A real Redis (Debian's redis-server) on a free loopback port, started by the test like the
 * ops tests start Prometheus. Missing redis-server fails in CI and skips elsewhere, saying why.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { TestContext } from 'vitest';
import { findTool, needTool, type Tool } from '../ops/tools.js';
import type { SimServer } from '../../src/sim/index.js';
import { freePort, startProcess, type Running } from './processes.js';

const REDIS_SERVER: Tool = {
  name: 'redis-server',
  install: 'apt-get install redis-server',
  requiredInCi: true,
};

export function haveRedis(): boolean {
  return findTool(REDIS_SERVER) !== undefined;
}

/** Skips the test outside CI (fails in CI) when redis-server is missing. */
export function needRedis(ctx: TestContext): void {
  needTool(ctx, REDIS_SERVER);
}

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** A client of the test's own, for looking at the keys. */
  readonly client: Redis;
  /** Kills the server (SIGKILL: no goodbye to the clients) and starts it again on the same port. */
  restart(options?: { downMs?: number }): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts redis-server. `persist`: an append-only file in a temp dir, so that a restart keeps the
 * pairs, as a production Redis does; without it a restart loses them.
 */
export async function startRedis(
  options: { persist?: boolean; password?: string } = {},
): Promise<TestRedis> {
  const bin = findTool(REDIS_SERVER);
  if (bin === undefined) throw new Error('redis-server not found (apt-get install redis-server)');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'b24-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--dir',
    dir,
    '--appendonly',
    options.persist === true ? 'yes' : 'no',
    '--appendfsync',
    'always',
    ...(options.password === undefined ? [] : ['--requirepass', options.password]),
  ];
  let server: Running | undefined;
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  const url = `redis://${auth}127.0.0.1:${port}/0`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  const start = async (): Promise<void> => {
    server = startProcess(bin, args, {});
    const deadline = Date.now() + 10_000;
    const probe = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      for (;;) {
        try {
          await probe.connect();
          if ((await probe.ping()) === 'PONG') break;
        } catch {
          if (Date.now() > deadline)
            throw new Error(`redis-server did not start: ${server.stderr()}${server.stdout()}`);
          probe.disconnect();
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    } finally {
      probe.disconnect();
    }
  };
  const kill = async (): Promise<void> => {
    if (server === undefined) return;
    const running = server;
    server = undefined;
    if (running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill('SIGKILL');
      await running.exited;
    }
  };
  await start();
  await client.connect();
  return {
    port,
    url,
    client,
    start,
    kill,
    async restart({ downMs = 0 } = {}) {
      await kill();
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    async stop() {
      client.disconnect();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The simulated portals' OAuth answers from now on: refresh tokens refused (`invalid_grant`)
 * and pairs granted, counted at the server (what the targets call "refreshes refused").
 */
export function countOAuthAnswers(sim: SimServer): { refused(): number; granted(): number } {
  const { answers } = sim.oauth;
  const from = { ...answers };
  return {
    refused: () => answers.refused - from.refused,
    granted: () => answers.granted - from.granted,
  };
}

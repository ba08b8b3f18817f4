import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PortalConfig } from '../../src/config/types.js';
import { createPortalClient, timeoutsFor } from '../../src/b24/portalClient.js';
import {
  captureLogger,
  CLIENT_ID,
  CLIENT_SECRET,
  NEW_ACCESS_TOKEN,
  NEW_REFRESH_TOKEN,
  oauthAnswer,
  recordingObserver,
  REFRESH_TOKEN,
  sendJson,
  startServer,
  testAgent,
} from './helpers.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'b24-config-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createPortalClient', () => {
  it('builds a working client from a PortalConfig: seed token, refresh, token file', async () => {
    const server = await startServer((req, res) =>
      req.path.startsWith('/oauth/')
        ? sendJson(res, 200, oauthAnswer(NEW_ACCESS_TOKEN, NEW_REFRESH_TOKEN))
        : sendJson(res, 200, { result: [], total: 0 }),
    );
    const agent = testAgent();
    const tokenFile = join(dir, 'data', 'portal.tokens.json');
    const portal: PortalConfig = {
      name: 'portal',
      restUrl: server.restUrl,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      refreshToken: REFRESH_TOKEN,
      oauthUrl: server.oauthUrl,
      tokenFile,
      schedule: '*/30 * * * * *',
      strategy: 'auto',
      scanMaxRows: 5000,
      maxEventNames: 500,
      dbTimeShare: 0.05,
      pollTimeoutMs: 25_000,
      staleAfterMs: 300_000,
      requestTimeoutMs: 5000,
      rateLimit: { capacity: 10, drainPerSecond: 1 },
    };
    const { client, tokens, limiter } = createPortalClient(portal, {
      observer: recordingObserver(),
      logger: captureLogger().logger,
      dispatcher: agent,
    });

    try {
      const answer = await client.call('event.offline.list', {});

      expect(answer.total).toBe(0);
      expect(server.rest()[0]?.json?.['auth']).toBe(NEW_ACCESS_TOKEN);
      expect(JSON.parse(await readFile(tokenFile, 'utf8'))).toMatchObject({
        refreshToken: NEW_REFRESH_TOKEN,
      });
      expect(tokens.path).toBe(tokenFile);
      expect(limiter.capacity).toBe(10);
    } finally {
      await client.close();
      await server.close();
      await agent.close();
    }
  });

  it('derives per-request timeouts from requestTimeoutMs', () => {
    expect(timeoutsFor(25_000)).toEqual({
      connectMs: 10_000,
      headersMs: 25_000,
      bodyMs: 25_000,
      totalMs: 25_000,
    });
  });
});

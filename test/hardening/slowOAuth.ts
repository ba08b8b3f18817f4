/**
 * A slow OAuth server: a proxy in front of the simulated one that forwards each token request
 * at once (so the pair is rotated, the old refresh token dead) and holds the answer back for
 * `delayMs`, or until `gate` settles when one is given. A shutdown in that window must wait for
 * the answer and save it.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlowOAuth {
  /** Put this in B24_OAUTH_URL. */
  readonly url: string;
  /** Token requests forwarded so far (each has rotated the pair). */
  forwarded: number;
  /** Answers delivered so far. */
  answered: number;
  delayMs: number;
  close(): Promise<void>;
}

export async function startSlowOAuth(
  target: string,
  delayMs: number,
  gate?: Promise<void>,
): Promise<SlowOAuth> {
  const state = { forwarded: 0, answered: 0, delayMs };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', target);
      void (async () => {
        const answer = await fetch(url, {
          method: req.method ?? 'GET',
          headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
          ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: Buffer.concat(chunks) }),
        });
        const body = Buffer.from(await answer.arrayBuffer());
        state.forwarded += 1;
        await (gate ?? new Promise((resolve) => setTimeout(resolve, state.delayMs)));
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(body, () => {
          state.answered += 1;
        });
      })().catch(() => res.destroy());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const targetPath = new URL(target).pathname;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}${targetPath}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

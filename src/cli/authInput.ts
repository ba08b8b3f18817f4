/**
 * Where `auth` gets the authorization code from: a line pasted on standard input, or the
 * browser's redirect itself, received on a local HTTP address (`--listen`).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import {
  parseAuthorizationInput,
  parseRedirectParams,
  type AuthorizationInput,
} from '../b24/authorizationCode.js';

/** A code, or the refusal the portal redirected with. */
export type Received = Extract<AuthorizationInput, { kind: 'code' | 'refused' }>;

/**
 * Reads lines until one holds a code (or a refusal); a line that holds neither is answered
 * through `complain` and the next one read. Resolves null at the end of the input.
 */
export async function readPasted(
  input: Readable,
  complain: (why: string) => void,
): Promise<Received | null> {
  const lines = createInterface({ input, crlfDelay: Infinity, terminal: false });
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      const parsed = parseAuthorizationInput(line);
      if (parsed.kind !== 'invalid') return parsed;
      complain(parsed.why);
    }
    return null;
  } finally {
    lines.close();
  }
}

export interface RedirectListener {
  /** `http://host:port/` */
  readonly url: string;
  /** The first request that carries a code or a refusal; rejects after the timeout. */
  readonly received: Promise<Received>;
  close(): Promise<void>;
}

export class ListenTimeoutError extends Error {}

const PAGE_STYLE =
  'body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5}';

function page(title: string, text: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${PAGE_STYLE}</style></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  );
}

function answer(res: ServerResponse, status: number, title: string, text: string): void {
  const body = page(title, text);
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    // the address carried a code: it must not travel on as a Referer
    'referrer-policy': 'no-referrer',
    connection: 'close',
  });
  res.end(body);
}

/**
 * Listens on `host:port` for the redirect of the portal's consent page to the application's
 * handler URL. Requests without a code (a favicon, a look at the page) get a short 404 and
 * the wait goes on. Throws (EADDRINUSE, EACCES...) when the address cannot be bound.
 */
export async function listenForRedirect(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<RedirectListener> {
  let settle: (value: Received) => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const received = new Promise<Received>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  let done = false;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const params = new URL(req.url ?? '/', 'http://listener').searchParams;
    const parsed = req.method === 'GET' ? parseRedirectParams(params) : undefined;
    if (done || parsed === undefined || parsed.kind === 'invalid') {
      answer(
        res,
        done ? 410 : 404,
        'b24-offline-monitor auth',
        done
          ? 'The authorization was received already; you can close this tab.'
          : 'Waiting for the redirect from the Bitrix24 consent page (an address with ?code=…).',
      );
      return;
    }
    done = true;
    if (parsed.kind === 'refused') {
      answer(
        res,
        200,
        'Authorization refused',
        `The portal answered ${parsed.error}. See the terminal; you can close this tab.`,
      );
    } else {
      answer(
        res,
        200,
        'Code received',
        'b24-offline-monitor received the authorization code. You can close this tab and return to the terminal.',
      );
    }
    settle(parsed);
  });
  server.listen(port, host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]: unknown[]) => Promise.reject(error as Error)),
  ]);
  const timer = setTimeout(() => {
    done = true;
    fail(new ListenTimeoutError(`no redirect within ${Math.round(timeoutMs / 1000)} s`));
  }, timeoutMs);
  timer.unref();
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/`,
    received: received.finally(() => clearTimeout(timer)),
    async close() {
      clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

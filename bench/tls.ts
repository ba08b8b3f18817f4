/**
 * HTTPS in front of the simulated portal, for the SDK, which speaks HTTPS only: a self-signed
 * certificate for 127.0.0.1 made with `openssl` at bench time, and a keep-alive reverse proxy.
 * A child trusts the certificate through NODE_EXTRA_CA_CERTS (read at process start).
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface Certificate {
  readonly certFile: string;
  readonly keyFile: string;
}

export async function makeCertificate(dir: string): Promise<Certificate> {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile };
}

export interface HttpsProxy {
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  close(): Promise<void>;
}

/** Forwards every request to `target` (an `http://host:port` origin) unchanged. */
export async function startHttpsProxy(target: string, cert: Certificate): Promise<HttpsProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const server: Server = createServer({
    cert: await readFile(cert.certFile),
    key: await readFile(cert.keyFile),
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const forward = request(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      agent.destroy();
    },
  };
}

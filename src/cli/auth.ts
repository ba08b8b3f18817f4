/**
 * `b24-offline-monitor auth [--code CODE] [--listen host:port] [--portal NAME]`: the monitor's
 * own token pair from an administrator's consent. Prints the portal's consent page, takes the
 * code (pasted, received on --listen, or given), exchanges it at once (a code lives 30 s),
 * writes the token file, and checks the pair with one poll through the monitor's own machinery.
 * It holds the token file's lock throughout, as a running monitor does: one holder at a time.
 * Exit 0: pair saved and poll succeeded; 1: a failure; 2: bad configuration or usage.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { buildMonitor } from '../app.js';
import {
  authorizeUrl,
  exchangeAuthorizationCode,
  sameEndpoint,
  type AuthorizedPair,
} from '../b24/authorizationCode.js';
import { MonitorError } from '../b24/errors.js';
import { timeoutsFor } from '../b24/portalClient.js';
import { lockTokenFile, TokenFileLockedError, type TokenFileLock } from '../b24/tokenFileLock.js';
import { FileTokenStore } from '../b24/fileTokenStore.js';
import { DEFAULT_MAX_BODY_BYTES } from '../b24/httpExchange.js';
import { formatProblems, loadConfig } from '../config/load.js';
import type { MonitorConfig, PortalConfig } from '../config/types.js';
import { createLogger, SecretRegistry } from '../runtime/log.js';
import { type AuthArgs, AUTH_USAGE, choosePortal, parseAuthArgs } from './authArgs.js';
import { explainPollFailure, formatSummary } from './authReport.js';
import {
  ListenTimeoutError,
  listenForRedirect,
  readPasted,
  type Received,
  type RedirectListener,
} from './authInput.js';

/** How long `--listen` waits for the redirect. */
const LISTEN_TIMEOUT_MS = 5 * 60_000;

export interface AuthIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: Readable;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** @default LISTEN_TIMEOUT_MS */
  readonly listenTimeoutMs?: number;
}

export async function runAuth(argv: readonly string[], io: AuthIo): Promise<number> {
  const say = (text: string): void => void io.stdout.write(`${text}\n`);
  const args = parseAuthArgs(argv);
  if (typeof args === 'string') {
    io.stderr.write(`b24-offline-monitor auth: ${args}\n\n${AUTH_USAGE}`);
    return 2;
  }
  const loaded = loadConfig({ env: io.env, requireRefreshToken: false });
  if (!loaded.ok) {
    io.stderr.write(`${formatProblems(loaded.problems)}\n`);
    return 2;
  }
  for (const warning of loaded.warnings)
    io.stderr.write(`b24-offline-monitor auth: warning: ${warning}\n`);
  const portal = choosePortal(loaded.config, args.portal);
  if (typeof portal === 'string') {
    io.stderr.write(`b24-offline-monitor auth: ${portal}\n`);
    return 2;
  }
  const secrets = new SecretRegistry();
  for (const value of loaded.config.secrets) secrets.add(value);
  const fail = (text: string, code = 1): number => {
    io.stderr.write(`b24-offline-monitor auth: ${secrets.scrub(text)}\n`);
    return code;
  };

  // The token file's lock, as a running monitor holds it: a monitor running on the file would
  // overwrite the new pair with its own at its next refresh. Taken before the consent page, so
  // that nobody spends a code (it lives 30 s) on a file that cannot be written.
  let lock: TokenFileLock;
  try {
    lock = lockTokenFile(portal.tokenFile);
  } catch (error) {
    if (error instanceof TokenFileLockedError) return fail(lockedMessage(portal, error));
    const message = error instanceof MonitorError ? error.message : 'unexpected error';
    return fail(
      `the token pair could not be saved (no code was used). ${message} Then run auth again.`,
    );
  }
  try {
    return await authorizeHolding(args, portal, loaded.config, io, secrets, say, fail);
  } finally {
    lock.release();
  }
}

/** Why `auth` stopped: a monitor holds the token file. */
function lockedMessage(portal: PortalConfig, error: TokenFileLockedError): string {
  const { host, pid } = error.owner;
  return (
    `the token file ${portal.tokenFile} is in use by a running monitor (pid ${pid}` +
    `${host === undefined ? '' : ` on host ${host}`}), which would overwrite a new pair with ` +
    `its own. Stop that monitor, run auth again, then start the monitor: it reads the new ` +
    `pair at start.`
  );
}

/** The code, its exchange, the token file and the check poll, with the token file locked. */
async function authorizeHolding(
  args: AuthArgs,
  portal: PortalConfig,
  config: MonitorConfig,
  io: AuthIo,
  secrets: SecretRegistry,
  say: (text: string) => void,
  fail: (text: string) => number,
): Promise<number> {
  const received = await obtainCode(args, portal, io, say);
  if (typeof received === 'number') return received;
  if (received.kind === 'refused') {
    return fail(
      `the portal did not authorize the application (${received.error}${received.description ? `: ${received.description}` : ''}). ` +
        'Open the authorize URL again and allow access, as an administrator of the portal.',
    );
  }
  secrets.add(received.code);

  let pair: AuthorizedPair;
  try {
    pair = await exchangeAuthorizationCode(
      received.code,
      { oauthUrl: portal.oauthUrl, clientId: portal.clientId, clientSecret: portal.clientSecret },
      {
        timeouts: timeoutsFor(portal.requestTimeoutMs),
        maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      },
      Date.now(),
    );
  } catch (error) {
    const message = error instanceof MonitorError ? error.message : 'unexpected error';
    return fail(`the code could not be exchanged for a token pair. ${message}`);
  }
  secrets.add(pair.accessToken);
  secrets.add(pair.refreshToken);
  if (pair.clientEndpoint !== undefined && !sameEndpoint(pair.clientEndpoint, portal.restUrl)) {
    // the pair could never work here: keep whatever the token file holds
    return fail(
      `the code was issued by the portal at ${pair.clientEndpoint}, but ${portal.name} is ` +
        `configured as ${portal.restUrl}; nothing was saved. Open the authorize URL of ` +
        `${portal.name}, or correct its URL (B24_PORTAL_URL), and run auth again.`,
    );
  }

  try {
    await new FileTokenStore(portal.tokenFile).save(pair);
  } catch (error) {
    const message = error instanceof MonitorError ? error.message : 'unexpected error';
    return fail(`the new token pair could not be saved. ${message} Then run auth again.`);
  }
  say(`Token pair saved in ${portal.tokenFile} (mode 0600).`);
  return checkWithOnePoll(config, portal, io, secrets, say, fail);
}

/** The code from --code, the redirect on --listen, or a pasted line; a number is an exit code. */
async function obtainCode(
  args: AuthArgs,
  portal: PortalConfig,
  io: AuthIo,
  say: (text: string) => void,
): Promise<Received | number> {
  if (args.code !== undefined) {
    return { kind: 'code', code: args.code };
  }
  const state = randomBytes(8).toString('hex');
  const url = authorizeUrl(portal.restUrl, portal.clientId, state);
  const check = (got: Received): Received | number => {
    if (got.kind === 'code' && got.state !== undefined && got.state !== state) {
      io.stderr.write(
        'b24-offline-monitor auth: that redirect belongs to another authorization (its state does not match this one). Open the URL printed above and use its redirect.\n',
      );
      return 1;
    }
    return got;
  };
  say(`Authorize the monitor on portal ${portal.name}, as an administrator of the portal:`);
  say(`  1. Open this address in a browser, logged in to the portal as an administrator:`);
  say(`     ${url}`);

  if (args.listen !== undefined) {
    const timeoutMs = io.listenTimeoutMs ?? LISTEN_TIMEOUT_MS;
    let listener: RedirectListener;
    try {
      listener = await listenForRedirect(args.listen.host, args.listen.port, timeoutMs);
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? String(error.code) : 'error';
      io.stderr.write(
        `b24-offline-monitor auth: --listen ${args.listen.host}:${args.listen.port}: cannot listen there (${code})\n`,
      );
      return 2;
    }
    say(`  2. The portal sends the browser to the application's handler URL, which must point to`);
    say(`     ${listener.url} : waiting for it (up to ${Math.round(timeoutMs / 60_000)} minutes).`);
    try {
      return check(await listener.received);
    } catch (error) {
      if (!(error instanceof ListenTimeoutError)) throw error;
      io.stderr.write(
        `b24-offline-monitor auth: no redirect reached ${listener.url} within ${Math.round(timeoutMs / 1000)} seconds. ` +
          "Check that the application's handler URL points there, or run auth without --listen and paste the address.\n",
      );
      return 1;
    } finally {
      await listener.close();
    }
  }

  say(`  2. The portal sends the browser to the application's handler URL with ?code=… in the`);
  say(`     address. Paste that whole address (or only the code) here and press Enter,`);
  say(`     within 30 seconds: the code lives no longer.`);
  const pasted = await readPasted(io.stdin, (why) =>
    io.stderr.write(`b24-offline-monitor auth: ${why}; paste it again.\n`),
  );
  if (pasted === null) {
    io.stderr.write(
      'b24-offline-monitor auth: no code was given on standard input (give it with --code CODE in scripts).\n',
    );
    return 2;
  }
  return check(pasted);
}

async function checkWithOnePoll(
  config: MonitorConfig,
  portal: PortalConfig,
  io: AuthIo,
  secrets: SecretRegistry,
  say: (text: string) => void,
  fail: (text: string) => number,
): Promise<number> {
  // Logs go to stderr, at warn as for `once`: stdout holds what a person reads.
  const logger = createLogger({
    level: config.logLevel === 'info' ? 'warn' : config.logLevel,
    secrets,
    destination: io.stderr,
  });
  const monitor = buildMonitor({ ...config, portals: [portal] }, { logger, secrets });
  const [report] = await monitor.pollOnce();
  const unsaved = monitor.unsavedTokens()[0];
  await monitor.close();
  if (report === undefined) return fail('no poll ran');
  if (!report.ok || report.snapshot === undefined) {
    return fail(explainPollFailure(report.error, portal));
  }
  if (unsaved !== undefined) {
    return fail(
      `the poll succeeded, but the rotated token pair could not be saved: ${unsaved.message}`,
    );
  }
  say(secrets.scrub(formatSummary(report, portal)));
  return 0;
}

/**
 * Shared pieces of the hardening suite: a fast way to run the real CLI as a child process,
 * a watch on every token the simulated OAuth server hands out, and leak scans over child
 * output and error messages.
 */
import { afterAll, expect, inject } from 'vitest';
import type { OAuthReply, SimServer } from '../../src/sim/index.js';
import { issuedSecrets } from '../helpers/harness.js';
import { startProcess, type Finished, type Running } from '../helpers/processes.js';

// ---------------------------------------------------------------------------------------------
// The CLI as a child process

/** Every output of a child process of this file, for the leak scan. */
const childOutputs: string[] = [];

export async function startMonitorCli(
  args: readonly string[],
  env: Record<string, string>,
): Promise<Running> {
  const running = startProcess(process.execPath, [...inject('cliEntry'), ...args], env);
  running.exited.then(
    (finished) => childOutputs.push(finished.stdout, finished.stderr),
    (error: unknown) => childOutputs.push(String(error)),
  );
  return running;
}

export async function runMonitorCli(
  args: readonly string[],
  env: Record<string, string>,
): Promise<Finished> {
  return (await startMonitorCli(args, env)).exited;
}

// ---------------------------------------------------------------------------------------------
// Secrets

export interface TokenIssue {
  readonly at: number;
  readonly status: number;
  readonly refreshToken?: string | undefined;
  readonly error?: string | undefined;
}

/**
 * Wraps the simulated OAuth server so that every token it hands out joins the leak scan, and
 * every refresh is seen by the test (synchronously, in the same tick as the answer is made).
 */
export function watchTokens(sim: SimServer, onIssue?: (issue: TokenIssue) => void): void {
  const original = sim.oauth.handleToken.bind(sim.oauth);
  sim.oauth.handleToken = (params): OAuthReply => {
    const reply = original(params);
    if (reply.kind === 'json') {
      const body = reply.body as Record<string, unknown>;
      for (const key of ['access_token', 'refresh_token']) {
        const value = body[key];
        if (typeof value === 'string') issuedSecrets.add(value);
      }
      onIssue?.({
        at: performance.now(),
        status: reply.status,
        refreshToken: typeof body['refresh_token'] === 'string' ? body['refresh_token'] : undefined,
        error: typeof body['error'] === 'string' ? body['error'] : undefined,
      });
    } else {
      onIssue?.({ at: performance.now(), status: 0, error: reply.kind });
    }
    return reply;
  };
}

/** Messages of an error and of its causes. */
export function messagesOf(error: unknown): string[] {
  const out: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 10; depth += 1) {
    out.push(current.message);
    current = current.cause;
  }
  return out;
}

/**
 * After all tests of the file: no secret of `issuedSecrets` (or of `extra`) appears in any
 * child output or in any of `texts` (error messages collected by the tests).
 */
export function scanTextsForSecretsAfterAll(
  texts: readonly string[],
  extra: () => readonly string[] = () => [],
): void {
  afterAll(() => {
    const secrets = [...issuedSecrets, ...extra()].filter((s) => s.length >= 8);
    const leaks: string[] = [];
    for (const text of [...texts, ...childOutputs]) {
      for (const secret of secrets) {
        if (!text.includes(secret)) continue;
        const at = text.indexOf(secret);
        const around = text.slice(Math.max(0, at - 80), at + secret.length + 80);
        leaks.push(`${secret.slice(0, 4)}… in …${around.split(secret).join('<secret>')}…`);
      }
    }
    expect(secrets.length).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });
}

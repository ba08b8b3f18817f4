/** Captures pino output as parsed JSON lines, and keeps every line of the run for leak scans. */
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger, SecretRegistry } from '../../src/runtime/log.js';

export type LogLine = Record<string, unknown> & { level: string; msg: string };

/** Every raw log line written by any captured logger in this test file. */
export const allLogLines: string[] = [];

export interface CapturedLogger {
  readonly logger: Logger;
  readonly lines: LogLine[];
  readonly secrets: SecretRegistry;
  /** Lines whose msg equals `msg`. */
  find(msg: string): LogLine[];
}

export function captureLogger(level = 'debug', options: { scrub?: boolean } = {}): CapturedLogger {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text === '') continue;
        allLogLines.push(text);
        lines.push(JSON.parse(text) as LogLine);
      }
      callback();
    },
  });
  const secrets = new SecretRegistry();
  // Leak tests turn scrubbing off: they prove nothing reaches the logger in the first place.
  const logger = createLogger({
    level,
    destination,
    ...(options.scrub === true ? { secrets } : {}),
  });
  return { logger, lines, secrets, find: (msg) => lines.filter((line) => line.msg === msg) };
}

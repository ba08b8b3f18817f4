/**
 * The pino logger. Secrets never reach a log line: known fields are redacted by path, and as a
 * last line of defence every secret value in use (config secrets and each portal's current and
 * just-replaced token pair: see secrets.ts) is replaced in the serialized line before it is
 * written.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { SecretRegistry } from './secrets.js';

const REDACT_PATHS = [
  'auth',
  'accessToken',
  'refreshToken',
  'clientSecret',
  'client_secret',
  'access_token',
  'refresh_token',
  'password',
  'bearerToken',
  '*.auth',
  '*.accessToken',
  '*.refreshToken',
  '*.clientSecret',
  '*.client_secret',
  '*.access_token',
  '*.refresh_token',
  '*.password',
  '*.bearerToken',
  'headers.authorization',
  '*.headers.authorization',
];

export { SecretRegistry } from './secrets.js';

export interface LoggerOptions {
  /** @default info */
  readonly level?: string;
  readonly secrets?: SecretRegistry;
  /** @default stdout */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = options.secrets;
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'b24-offline-monitor' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      ...(secrets === undefined
        ? {}
        : { hooks: { streamWrite: (line: string) => secrets.scrub(line) } }),
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

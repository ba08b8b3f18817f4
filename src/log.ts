/**
 * The pino logger. Secrets never reach a log line: known fields are redacted by path, and as a
 * last line of defence every registered secret value (config secrets and each rotated token)
 * is replaced in the serialized line before it is written.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export const REDACT_PATHS = [
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

/** A growing set of values that must never be written; shared by the logger and the token manager. */
export class SecretRegistry {
  readonly #values = new Set<string>();
  #pattern: RegExp | null = null;

  add(value: string | undefined): void {
    // Very short values would redact ordinary words; real secrets are long.
    if (value === undefined || value.length < 6 || this.#values.has(value)) return;
    this.#values.add(value);
    this.#pattern = null;
  }

  scrub(text: string): string {
    if (this.#values.size === 0) return text;
    this.#pattern ??= new RegExp(
      [...this.#values]
        .map((v) =>
          JSON.stringify(v)
            .slice(1, -1)
            .replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('|'),
      'g',
    );
    return text.replace(this.#pattern, '[redacted]');
  }
}

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

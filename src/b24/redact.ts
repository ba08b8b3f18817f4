/**
 * Last line of defence for text that crosses from the network into an error message: a portal
 * or OAuth server may echo what it was sent, and what it was sent includes tokens.
 */
import { MIN_SECRET_LENGTH } from '../runtime/secrets.js';

/** Longest piece of foreign text (an `error_description`) quoted in a message. */
const MAX_QUOTE = 300;

/** `text` with every secret replaced by `[redacted]`, cut to a readable length. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= MIN_SECRET_LENGTH)
      out = out.split(secret).join('[redacted]');
  }
  return out.length > MAX_QUOTE ? `${out.slice(0, MAX_QUOTE)}…` : out;
}

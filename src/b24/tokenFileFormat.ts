/**
 * The token file's content: a JSON object, written by the monitor (with `savedAt`) or by hand
 * (`refreshToken` alone). Errors about a file never quote it: its text may be a token.
 */
import { z } from 'zod';
import { TokenStoreError } from './errors.js';
import type { TokenPair } from './tokenStore.js';

const TokenFile = z.object({
  refreshToken: z.string().min(1),
  accessToken: z.string().min(1).optional(),
  /** ISO 8601. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  /** ISO 8601, when the monitor wrote the file. */
  savedAt: z.iso.datetime({ offset: true }).optional(),
});
type TokenFile = z.infer<typeof TokenFile>;

const FIX_HINT =
  'Fix or delete the file and restart; without the file the monitor uses B24_REFRESH_TOKEN, ' +
  'and if that token was already used the application must be re-authorized on the portal.';

function pairOf(file: TokenFile): TokenPair {
  return {
    refreshToken: file.refreshToken,
    accessToken: file.accessToken,
    expiresAt: file.expiresAt === undefined ? undefined : Date.parse(file.expiresAt),
  };
}

/** The pair in the text of the token file at `path`; throws TokenStoreError naming the fix. */
export function parseTokenFile(text: string, path: string): TokenPair {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // No cause: JSON.parse quotes the text around the error, which may be a token.
    throw new TokenStoreError(`Token file ${path} is not valid JSON. ${FIX_HINT}`);
  }
  const parsed = TokenFile.safeParse(json);
  if (!parsed.success) {
    // Paths only: zod messages may quote the value, and the value may be a token.
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))];
    throw new TokenStoreError(
      `Token file ${path} does not hold a token pair: missing or invalid ` +
        `${fields.join(', ')} (expected {"refreshToken": "...", "accessToken"?: "...", ` +
        `"expiresAt"?: ISO date}). ${FIX_HINT}`,
    );
  }
  return pairOf(parsed.data);
}

/** The pair in a sidecar's text, or null when it is torn (then it is of no use). */
export function parseSidecar(text: string): TokenPair | null {
  try {
    const parsed = TokenFile.safeParse(JSON.parse(text));
    return parsed.success ? pairOf(parsed.data) : null;
  } catch {
    return null;
  }
}

/** The file's text for `pair`, saved at `now`. */
export function formatTokenFile(pair: TokenPair, now: Date): string {
  const file: TokenFile = {
    refreshToken: pair.refreshToken,
    ...(pair.accessToken === undefined ? {} : { accessToken: pair.accessToken }),
    ...(pair.expiresAt === undefined ? {} : { expiresAt: new Date(pair.expiresAt).toISOString() }),
    savedAt: now.toISOString(),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

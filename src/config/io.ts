/** The only I/O the loader does: reading the files it is told to read, and their mode. */
import { readFileSync, statSync } from 'node:fs';

export interface ConfigIo {
  /** Reads a whole file as UTF-8; throws a Node errno error (`ENOENT`, `EACCES`...) otherwise. */
  readonly readFile: (path: string) => string;
  /** The file's mode bits, for the "readable by others" warning. */
  readonly statFile: (path: string) => { readonly mode: number };
}

export const nodeIo: ConfigIo = {
  readFile: (path) => readFileSync(path, 'utf8'),
  statFile: (path) => statSync(path),
};

export type ReadResult =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

/** Reads a file; on failure, says why in words that never include its content. */
export function readText(io: ConfigIo, path: string): ReadResult {
  try {
    return { ok: true, text: io.readFile(path) };
  } catch (error) {
    return { ok: false, reason: describeReadError(error) };
  }
}

function describeReadError(error: unknown): string {
  const code =
    typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
      ? error.code
      : undefined;
  switch (code) {
    case 'ENOENT':
      return 'file not found';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case undefined:
      return 'cannot read it';
    default:
      return `cannot read it (${code})`;
  }
}

/**
 * The value held by a secret file (Docker secrets, `NAME_FILE`): its content without the
 * trailing newline(s) that editors and `echo` add.
 */
export function secretFromText(text: string): string {
  return text.replace(/[\r\n]+$/, '');
}

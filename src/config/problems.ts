/**
 * Configuration problems and the one message that lists them. A problem names the setting
 * (an environment variable, or the path of a key in the config file), shows the value given
 * — secrets as `[redacted]` — and says what was expected.
 */
const REDACTED = '[redacted]';

export interface ConfigProblem {
  /** `B24_PORTAL_URL`, `portals[3].url`, `defaults.schedule`, or `MONITOR_CONFIG` for the file itself. */
  readonly field: string;
  /** The value given, ready to print (quoted, or `[redacted]`); absent when none was given. */
  readonly value?: string | undefined;
  /** What is expected, or what is wrong: `expected an https:// URL ...`, `not set — expected ...`. */
  readonly expected: string;
  /** The config file, when the field is a key of it. */
  readonly file?: string | undefined;
}

const MAX_SHOWN = 120;

/** A given value as it is printed in a problem. */
export function showValue(value: unknown, kind: 'plain' | 'secret' | 'url' = 'plain'): string {
  if (kind === 'secret') return REDACTED;
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    const text = kind === 'url' ? redactUrl(value) : value;
    const cut = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
    return JSON.stringify(cut);
  }
  return String(value);
}

/**
 * Credentials a mistyped URL may carry: `user:password@` and the code of an inbound webhook
 * (`/rest/1/<code>/`). Error messages never contain a URL with credentials in it.
 */
export function redactUrl(text: string): string {
  return text
    .replace(/\/\/[^/?#]*@/, `//${REDACTED}@`)
    .replace(/(\/rest\/\d+\/)[^/?#]+/, `$1${REDACTED}`);
}

/** The message the CLI prints before it exits with code 2: every problem, one per line. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  const files = [...new Set(problems.flatMap((p) => (p.file === undefined ? [] : [p.file])))];
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const where = files.length === 0 ? '' : `; config file ${files.join(', ')}`;
  // `field: value — expected ...`
  const lines = problems.map(
    ({ field, value, expected }) =>
      `  - ${field}: ${value === undefined ? '' : `${value} — `}${expected}`,
  );
  return [`Invalid configuration (${count}${where}):`, ...lines].join('\n');
}

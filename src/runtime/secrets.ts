/**
 * The values that must never be written: the config's secrets (fixed for the process's life)
 * and each portal's token pair in use, plus the pair it just replaced for a grace period (a
 * log line about the old pair may still be on its way). A daemon refreshes for months, so
 * the set never grows with time: a portal's pair replaces its old one.
 *
 * Matching never builds a regular expression from the values (a 33 KB token once made the
 * expression invalid, and its SyntaxError quoted every secret): a few values are found with
 * `indexOf`; many (hundreds of portals) with a scan that looks up each position's first
 * characters in a map, so a line costs the same whatever the number of values.
 */

/**
 * Shorter values are not treated as secrets: they would blank out ordinary words, and real
 * secrets and tokens are long. The one minimum of every scrubber (logs, error messages, config
 * problems).
 */
export const MIN_SECRET_LENGTH = 6;
/** How long a replaced pair stays redacted. */
export const REPLACED_GRACE_MS = 10 * 60_000;
/** Up to this many values, `indexOf` each; beyond, the keyed scan. */
const INDEXOF_LIMIT = 32;
const CENSOR = '[redacted]';
/** Written instead of a line that could not be scrubbed: the line itself is dropped. */
const DROPPED = '{"level":"error","msg":"Log line dropped: it could not be scrubbed of secrets"}\n';

export interface SecretSink {
  /** Registers the pair in use for `owner` (a portal); the one it replaces stays for a while. */
  replace(owner: string, values: readonly (string | undefined)[]): void;
}

interface Generation {
  readonly values: readonly string[];
  /** When a newer pair replaced this one (Unix ms); undefined while in use. */
  readonly replacedAt?: number;
}

export class SecretRegistry implements SecretSink {
  readonly #fixed = new Set<string>();
  /** Per owner: the pair in use, then the one it replaced. */
  readonly #owners = new Map<string, [Generation, Generation | undefined]>();
  readonly #now: () => number;
  #forms: string[] | null = null;
  #byPrefix: Map<string, string[]> | null = null;
  #nextExpiry = Infinity;

  constructor(options: { readonly now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** A value for the process's life (a config secret). */
  add(value: string | undefined): void {
    if (!usable(value) || this.#fixed.has(value)) return;
    this.#fixed.add(value);
    this.#forms = null;
  }

  replace(owner: string, values: readonly (string | undefined)[]): void {
    const next: Generation = { values: values.filter(usable) };
    const held = this.#owners.get(owner);
    const now = this.#now();
    const previous = held === undefined ? undefined : { ...held[0], replacedAt: now };
    this.#owners.set(owner, [next, previous]);
    if (previous !== undefined)
      this.#nextExpiry = Math.min(this.#nextExpiry, now + REPLACED_GRACE_MS);
    this.#forms = null;
  }

  /** How many distinct values are redacted now (raw and JSON-escaped forms counted once). */
  get size(): number {
    return this.#values().size;
  }

  /** `text` with every value replaced by `[redacted]`. Never throws. */
  scrub(text: string): string {
    try {
      const forms = this.#currentForms();
      if (forms.length === 0) return text;
      return forms.length <= INDEXOF_LIMIT ? scrubEach(text, forms) : this.#scrubKeyed(text);
    } catch {
      return DROPPED;
    }
  }

  #values(): Set<string> {
    const values = new Set(this.#fixed);
    for (const [current, previous] of this.#owners.values()) {
      for (const v of current.values) values.add(v);
      for (const v of previous?.values ?? []) values.add(v);
    }
    return values;
  }

  #currentForms(): string[] {
    if (this.#now() >= this.#nextExpiry) this.#expire();
    if (this.#forms !== null) return this.#forms;
    const forms = new Set<string>();
    for (const value of this.#values()) {
      forms.add(value);
      // Lines are JSON: a value with quotes or backslashes appears escaped.
      forms.add(JSON.stringify(value).slice(1, -1));
    }
    // Longest first, so that a value containing another is replaced whole.
    this.#forms = [...forms].sort((a, b) => b.length - a.length);
    this.#byPrefix = null;
    return this.#forms;
  }

  #expire(): void {
    const now = this.#now();
    let next = Infinity;
    for (const [owner, [current, previous]] of this.#owners) {
      if (previous?.replacedAt === undefined) continue;
      const until = previous.replacedAt + REPLACED_GRACE_MS;
      if (until <= now) this.#owners.set(owner, [current, undefined]);
      else next = Math.min(next, until);
    }
    this.#nextExpiry = next;
    this.#forms = null;
  }

  #scrubKeyed(text: string): string {
    const forms = this.#forms ?? [];
    if (this.#byPrefix === null) {
      const map = new Map<string, string[]>();
      for (const form of forms) {
        const key = form.slice(0, MIN_SECRET_LENGTH);
        const list = map.get(key);
        if (list === undefined) map.set(key, [form]);
        else list.push(form); // stays longest first
      }
      this.#byPrefix = map;
    }
    const map = this.#byPrefix;
    let out = '';
    let copied = 0;
    for (let i = 0; i + MIN_SECRET_LENGTH <= text.length;) {
      const candidates = map.get(text.slice(i, i + MIN_SECRET_LENGTH));
      const hit = candidates?.find((form) => text.startsWith(form, i));
      if (hit === undefined) {
        i += 1;
        continue;
      }
      out += text.slice(copied, i) + CENSOR;
      i += hit.length;
      copied = i;
    }
    return copied === 0 ? text : out + text.slice(copied);
  }
}

function usable(value: string | undefined): value is string {
  return value !== undefined && value.length >= MIN_SECRET_LENGTH;
}

function scrubEach(text: string, forms: readonly string[]): string {
  let out = text;
  for (const form of forms) {
    if (out.includes(form)) out = out.split(form).join(CENSOR);
  }
  return out;
}

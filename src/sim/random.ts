/**
 * Randomness. Decisions that tests must be able to replay (faults, traffic, fill order,
 * process ids) use a seeded PRNG; secrets (access and refresh tokens) use the system CSPRNG so
 * they cannot be guessed from a seed.
 */
import { randomBytes } from 'node:crypto';

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: small, fast and good enough for simulation decisions. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for an independent stream, e.g. one per portal and purpose (FNV-1a of the label). */
export function deriveSeed(seed: number, label: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** `bytes` random bytes from the CSPRNG as lower-case hex (twice as many characters). */
export function secureHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

const HEX = '0123456789abcdef';
const ALNUM = '0123456789abcdefghijklmnopqrstuvwxyz';

function randomChars(random: Random, alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(random() * alphabet.length)];
  return out;
}

/** Lower-case hex of `length` characters from a seeded source (MESSAGE_ID, member_id). */
export function randomHex(random: Random, length: number): string {
  return randomChars(random, HEX, length);
}

/** `[0-9a-z]` of `length` characters, the shape of a real PROCESS_ID. */
export function randomAlnum(random: Random, length: number): string {
  return randomChars(random, ALNUM, length);
}

/** An integer in [min, max]. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

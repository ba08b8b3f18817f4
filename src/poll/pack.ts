/** Packing a plan's commands into requests: at most 50 commands and a time cap each. */
import { MAX_BATCH_COMMANDS } from '../b24/allowList.js';
import type { Planned } from './headline.js';

/**
 * Commands in order, in requests of at most 50 whose estimated seconds stay within
 * `capSeconds`; past `limit` requests the rest rides with the last one rather than being
 * dropped (the plan only asks for more than fits when it has no choice: the headline).
 */
export function pack(
  planned: readonly Planned[],
  secondsOf: (p: Planned) => number,
  limit: number,
  capSeconds: number,
): Planned[][] {
  const packs: Planned[][] = [];
  let current: Planned[] = [];
  let seconds = 0;
  for (const p of planned) {
    const cost = secondsOf(p);
    const full = current.length >= MAX_BATCH_COMMANDS || seconds + cost > capSeconds;
    if (current.length > 0 && full && packs.length + 1 < limit) {
      packs.push(current);
      current = [];
      seconds = 0;
    }
    current.push(p);
    seconds += cost;
  }
  if (current.length > 0) packs.push(current);
  return packs;
}

/** Fills up to `requests` requests of at most 50 commands and `capSeconds` each, in order. */
export class Packer {
  #packs = 1;
  #count = 0;
  #seconds = 0;

  constructor(
    readonly requests: number,
    readonly capSeconds: number,
  ) {}

  /** Adds the commands (their estimated seconds) if they all fit; else changes nothing. */
  tryAdd(costs: readonly number[]): boolean {
    if (this.requests <= 0) return false;
    let packs = this.#packs;
    let count = this.#count;
    let seconds = this.#seconds;
    for (const cost of costs) {
      if (count > 0 && (count >= MAX_BATCH_COMMANDS || seconds + cost > this.capSeconds)) {
        packs += 1;
        count = 0;
        seconds = 0;
        if (packs > this.requests) return false;
      }
      count += 1;
      seconds += cost;
    }
    this.#packs = packs;
    this.#count = count;
    this.#seconds = seconds;
    return true;
  }
}

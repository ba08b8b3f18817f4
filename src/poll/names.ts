/**
 * The event names the count plan knows, with what each held at its last count: the order in
 * which they are counted when not all fit a poll's requests.
 */
import type { StatusStats } from '../queue/snapshot.js';

/** Names kept for the ranking; beyond, those with the fewest rows are forgotten. */
const MAX_REMEMBERED_NAMES = 10_000;

interface NameStat {
  /** Rows at the last count; -1: never counted. */
  total: number;
  /** Unix ms of the last count; 0: never. */
  at: number;
}

export class NameBook {
  readonly #names = new Map<string, NameStat>();

  get size(): number {
    return this.#names.size;
  }

  add(name: string): void {
    if (!this.#names.has(name)) this.#names.set(name, { total: -1, at: 0 });
  }

  /**
   * The order names are counted in when not all fit: never counted first, then mostly by what
   * they held at their last count (the largest are worth a series of their own), every fourth
   * one the name counted longest ago, so that a name that grew is found again.
   */
  ranked(): string[] {
    const entries = [...this.#names.entries()];
    const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const size = (stat: NameStat) => (stat.total < 0 ? Infinity : stat.total);
    const byCount = [...entries]
      .sort(([an, a], [bn, b]) => size(b) - size(a) || a.at - b.at || byName(an, bn))
      .map(([name]) => name);
    const byAge = [...entries]
      .sort(([an, a], [bn, b]) => a.at - b.at || byName(an, bn))
      .map(([name]) => name);
    const order: string[] = [];
    const taken = new Set<string>();
    let i = 0;
    let j = 0;
    while (order.length < entries.length) {
      const fromAge = order.length % 4 === 3;
      const list = fromAge ? byAge : byCount;
      let k = fromAge ? j : i;
      while (k < list.length && taken.has(list[k] as string)) k += 1;
      if (fromAge) j = k + 1;
      else i = k + 1;
      const name = list[k];
      if (name === undefined) continue;
      taken.add(name);
      order.push(name);
    }
    return order;
  }

  /**
   * Each counted name's total, for the ranking. A name with no rows that is neither bound nor
   * known to the poller is forgotten, and the list is bounded: it must not grow for months.
   */
  remember(
    groups: ReadonlyMap<string, StatusStats>,
    counted: readonly string[],
    keep: Iterable<string>,
    now: number,
  ): void {
    const kept = new Set(keep);
    for (const name of counted) {
      const stats = groups.get(name);
      if (stats === undefined) continue;
      const total = stats.queued.count + stats.reserved.count + stats.error.count;
      if (total === 0 && !kept.has(name)) this.#names.delete(name);
      else this.#names.set(name, { total, at: now });
    }
    if (this.#names.size > MAX_REMEMBERED_NAMES) {
      const drop = [...this.#names.entries()]
        .sort(([, a], [, b]) => a.total - b.total || a.at - b.at)
        .slice(0, this.#names.size - MAX_REMEMBERED_NAMES);
      for (const [name] of drop) this.#names.delete(name);
    }
  }
}

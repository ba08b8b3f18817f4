/**
 * What a poll's breakdown asks, within the requests left (50 commands and a time cap each)
 * and the database allowance: both sections whole when they fit; else, when the names fit
 * whole alone, the older section whole (the other follows at the next poll, being then the
 * older); else the older section first, as much of it as fits, then the other. Names beyond
 * what the requests and the budget hold are not counted one by one: the most numerous ones
 * are (names never counted first), the rest add up under `other`. When every name was counted
 * and `other` still holds rows (names only the queue knows), the next names refresh adds one
 * command per gap between the known names (≤ 1 unit each) to find them.
 */
import { gapCommands, nameCommands, statusesToCount, type ByDifference } from './breakdown.js';
import type { Headline, Planned } from './headline.js';
import { Packer } from './pack.js';
import type { RefreshSchedule } from './refreshSchedule.js';
import type { Status } from '../queue/snapshot.js';

/** Commands that measure the queue's old part with a full count of names (tail.ts). */
export interface Arm {
  readonly cutoff: number;
  readonly planned: readonly Planned[];
}

/** What the breakdown would ask with no limit. */
export interface Wanted {
  readonly h: Headline;
  /** Every age command. */
  readonly ages: readonly Planned[];
  /** The known names in the order they are counted when not all fit. */
  readonly ranked: readonly string[];
  /** Names the numbers imply, when the last full count allows it. */
  readonly implied: ByDifference;
  /** The names counted from the queue's recent tail, when the tail's checks allow it. */
  readonly tail: readonly Planned[] | null;
  readonly arm: Arm | null;
  /** Statuses with rows of unknown names at the last full count of names. */
  readonly missing: readonly Status[];
}

/** What one choice may spend. */
export interface Limits {
  readonly requests: number;
  /** Estimated seconds the breakdown may take in all. */
  readonly allowance: number;
  /** The most seconds one request of it should take. */
  readonly capSeconds: number;
}

/** When the choice is made: the sections' refreshes, and whether the max age forces this one. */
export interface Timing {
  readonly schedule: RefreshSchedule;
  readonly now: number;
  readonly forced: boolean;
  /** Seconds one command should take (estimator.ts). */
  readonly secondsOf: (p: Planned) => number;
}

export interface Choice {
  readonly planned: readonly Planned[];
  /** The ages are asked (all of them). */
  readonly ages: boolean;
  /** Names counted one by one (every known name when `namesIncluded` and none is left out). */
  readonly names: readonly string[];
  readonly namesIncluded: boolean;
  /** Names the numbers imply (one per status at most), with no command of their own. */
  readonly byDifference: ByDifference;
  /** The most seconds one request of it should take. */
  readonly capSeconds: number;
  /** The names are counted from the queue's recent tail (tail.ts). */
  readonly tail: boolean;
  /** The cutoff whose old part this full count of names also measures (tail.ts), or null. */
  readonly armCutoff: number | null;
}

/** How every name would be counted: the commands, the names implied, from the tail or not. */
interface AllNames {
  readonly planned: readonly Planned[];
  readonly byDifference: ByDifference;
  readonly fromTail: boolean;
}

/**
 * Every name's commands. Rows of names no one knows at the last full count: look for them
 * (gap commands), in full; else from the tail when its checks allow; else in full, the names
 * the numbers imply left out.
 */
function allNames(wanted: Wanted): AllNames {
  const { h, ranked, missing, tail } = wanted;
  const freeNames = statusesToCount(h).length === 0;
  const discover =
    missing.length === 0 ? [] : gapCommands(ranked, missing.length === 1 ? missing[0]! : null);
  if (tail !== null && discover.length === 0) {
    return { planned: tail, byDifference: new Map<Status, string>(), fromTail: true };
  }
  const byDifference = discover.length === 0 ? wanted.implied : new Map<Status, string>();
  const planned = [...(freeNames ? [] : nameCommands(h, ranked, byDifference)), ...discover];
  return { planned, byDifference, fromTail: false };
}

export function chooseBreakdown(wanted: Wanted, limits: Limits, timing: Timing): Choice {
  const chooser = new Chooser(wanted, limits, timing);
  return chooser.wholeSections() ?? chooser.partOfEach();
}

class Chooser {
  readonly #wanted: Wanted;
  readonly #limits: Limits;
  readonly #timing: Timing;
  readonly #names: AllNames;

  constructor(wanted: Wanted, limits: Limits, timing: Timing) {
    this.#wanted = wanted;
    this.#limits = limits;
    this.#timing = timing;
    this.#names = allNames(wanted);
  }

  /** One section whole, or both, when that fits and is due; null when neither fits whole. */
  wholeSections(): Choice | null {
    return this.#dueSectionAlone() ?? this.#namesToArm() ?? this.#bothOrOneFirst();
  }

  /** The section due when only one is (sectionsDue), if it fits alone. */
  #dueSectionAlone(): Choice | null {
    const { schedule, now, forced } = this.#timing;
    const due = schedule.sectionsDue(now, forced);
    if (due.ages && !due.names && this.#fits(this.#wanted.ages)) return this.#whole(true, false);
    if (due.names && !due.ages && this.#fits(this.#names.planned)) return this.#whole(false, true);
    return null;
  }

  /**
   * A full count of names that the ages would keep from measuring the queue's old part
   * (tail.ts: 2 commands a name, past 50 commands or the request's cap) takes it alone when
   * nothing forces both now; the ages follow at the next poll, and the names are counted from
   * the tail from then on instead of in full every time (bench --sql, stuck).
   */
  #namesToArm(): Choice | null {
    const { ages, arm } = this.#wanted;
    const names = this.#names.planned;
    if (this.#timing.forced || this.#names.fromTail || arm === null) return null;
    const crowded =
      !this.#fits([...ages, ...names, ...arm.planned]) && this.#fits([...names, ...arm.planned]);
    return crowded ? this.#whole(false, true) : null;
  }

  /** Both sections when they fit; else, when the names fit alone, one now, the other next poll. */
  #bothOrOneFirst(): Choice | null {
    const { ages } = this.#wanted;
    const names = this.#names.planned;
    if (this.#fits([...ages, ...names])) return this.#whole(true, true);
    if (!this.#fits(names)) return null;
    if (this.#timing.schedule.namesOlder() || !this.#fits(ages)) return this.#whole(false, true);
    return this.#whole(true, false);
  }

  /**
   * Neither fits whole: the older section first, as much of it as fits (the names in rank
   * order, the rest under `other`), then the other. In a refresh forced by the max age, the
   * newer section follows only when it is due too: counting it again now would spend what
   * the next refresh spends anyway.
   */
  partOfEach(): Choice {
    const { h, ages, ranked } = this.#wanted;
    const { schedule, now, forced } = this.#timing;
    const fill = new Fill(this.#limits, this.#timing.secondsOf);
    let withAges: boolean;
    if (schedule.namesOlder()) {
      fill.names(h, ranked);
      withAges = schedule.due('ages', now, forced) && fill.ages(ages);
    } else {
      withAges = fill.ages(ages);
      if (schedule.due('names', now, forced)) fill.names(h, ranked);
    }
    return {
      planned: [...(withAges ? ages : []), ...fill.nameCommands],
      ages: withAges,
      names: fill.counted,
      namesIncluded: fill.counted.length > 0,
      // some names left to `other`: no name is implied
      byDifference: new Map(),
      capSeconds: this.#limits.capSeconds,
      tail: false,
      armCutoff: null,
    };
  }

  /** Whether the commands fit the requests left and the allowance, on their own. */
  #fits(planned: readonly Planned[]): boolean {
    const { requests, capSeconds, allowance } = this.#limits;
    const est = this.#timing.secondsOf;
    const packer = new Packer(requests, capSeconds);
    const cost = planned.reduce((sum, p) => sum + est(p), 0);
    return (planned.length === 0 || packer.tryAdd(planned.map(est))) && cost <= allowance;
  }

  #whole(withAges: boolean, withNames: boolean): Choice {
    const { ages, ranked, arm } = this.#wanted;
    const names = this.#names;
    const planned = [...(withAges ? ages : []), ...(withNames ? names.planned : [])];
    // A full count of names also measures the old part when that fits too (tail.ts).
    const armed =
      withNames && !names.fromTail && arm !== null && this.#fits([...planned, ...arm.planned]);
    return {
      planned: armed ? [...planned, ...arm.planned] : planned,
      ages: withAges,
      names: withNames ? [...ranked] : [],
      namesIncluded: withNames,
      byDifference: withNames ? names.byDifference : new Map(),
      capSeconds: this.#limits.capSeconds,
      tail: withNames && names.fromTail,
      armCutoff: armed ? arm.cutoff : null,
    };
  }
}

/** Requests filled section by section, within the limits: what a partial breakdown asks. */
class Fill {
  readonly #limits: Limits;
  readonly #est: (p: Planned) => number;
  readonly #packer: Packer;
  #spent = 0;
  readonly counted: string[] = [];
  readonly nameCommands: Planned[] = [];

  constructor(limits: Limits, est: (p: Planned) => number) {
    this.#limits = limits;
    this.#est = est;
    this.#packer = new Packer(limits.requests, limits.capSeconds);
  }

  /** All the ages, if they fit what is left. */
  ages(ages: readonly Planned[]): boolean {
    const cost = ages.reduce((sum, p) => sum + this.#est(p), 0);
    const fits =
      cost <= this.#limits.allowance - this.#spent &&
      (ages.length === 0 || this.#packer.tryAdd(ages.map(this.#est)));
    if (fits) this.#spent += cost;
    return fits;
  }

  /** Names in rank order, as many as fit what is left. */
  names(h: Headline, ranked: readonly string[]): void {
    for (const name of ranked) {
      const mine = nameCommands(h, [name]);
      const cost = mine.reduce((sum, p) => sum + this.#est(p), 0);
      if (this.#spent + cost > this.#limits.allowance || !this.#packer.tryAdd(mine.map(this.#est)))
        break;
      this.#spent += cost;
      this.counted.push(name);
      this.nameCommands.push(...mine);
    }
  }
}

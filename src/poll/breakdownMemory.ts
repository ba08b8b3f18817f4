/**
 * What the count plan keeps of its breakdowns from one poll to the next: the figures by name
 * and by age as last refreshed, the names it knows, and what the last full count of names
 * allows the next ones: a status's last name by difference (for an hour after a count one by
 * one left no row to any other name: RECOUNT_NAMES_MS), a search for names only the queue
 * knows (when it left rows to none), a count of the recent tail only (tail.ts).
 */
import type { CallAnswer } from '../b24/types.js';
import {
  differenceNames,
  OTHER_EVENT_NAME,
  readAges,
  readNames,
  shortfall,
  type ByDifference,
  type OlderThan,
} from './breakdown.js';
import type { Arm, Choice } from './breakdownChoice.js';
import { pageRows, type Headline, type Planned } from './headline.js';
import { NameBook } from './names.js';
import {
  armBaseline,
  armCommands,
  readCheck,
  readTail,
  tailCommands,
  type TailBaseline,
  type TailCheck,
} from './tail.js';
import { emptyAgeCounts, STATUSES, type Status, type StatusStats } from '../queue/snapshot.js';

type Answers = Readonly<Record<string, CallAnswer>>;

/**
 * A status's last name is counted by difference only while the last count of every name one
 * by one, this recent, left no row to any other name: rows come only for bound events, and
 * the bindings are read on every poll, so a name no one knows would have to be bound and
 * unbound between two polls; the hourly count one by one finds it even then.
 */
const RECOUNT_NAMES_MS = 60 * 60_000;

/** A count of the names from the queue's recent tail: the baseline, its checks and commands. */
export interface TailPlan {
  readonly base: TailBaseline;
  readonly check: TailCheck;
  readonly planned: readonly Planned[];
}

export class BreakdownMemory {
  readonly #names = new NameBook();
  #groups: Map<string, StatusStats> | null = null;
  #ages: OlderThan | null = null;
  /** Statuses with rows of unknown names at the last full count of names. */
  #missing: Status[] = [];
  /** When every name was last counted one by one with no row left to another name. */
  #namesExactAt: number | null = null;
  /** The old part of the queue at the last full count of names that measured it (tail.ts). */
  #tail: TailBaseline | null = null;
  /** The newest TIMESTAMP_X any page showed: how long the queue's tail is, roughly. */
  #newestKnown: number | null = null;

  get groups(): Map<string, StatusStats> {
    return this.#groups ?? new Map();
  }

  get ages(): OlderThan {
    return (
      this.#ages ?? {
        queued: emptyAgeCounts(),
        reserved: emptyAgeCounts(),
        error: emptyAgeCounts(),
      }
    );
  }

  get missing(): readonly Status[] {
    return this.#missing;
  }

  /** The baseline the tail's checks compare with; null: none measured, or no longer valid. */
  get tailBaseline(): TailBaseline | null {
    return this.#tail;
  }

  /** Names known but not counted one by one in this poll: they add up under `other`. */
  namesLeftOut(counted: number): number {
    return this.#names.size - counted;
  }

  /** Names bound, known to the poller or seen on the headline's pages; in counting order. */
  rank(names: Iterable<string>): string[] {
    for (const name of names) if (name !== OTHER_EVENT_NAME) this.#names.add(name);
    return this.#names.ranked();
  }

  /** The names implied by difference in this poll (none unless the last full count allows it). */
  implied(h: Headline, ranked: readonly string[], now: number): ByDifference {
    const recent = this.#namesExactAt !== null && now - this.#namesExactAt < RECOUNT_NAMES_MS;
    if (!recent || this.#missing.length > 0) return new Map();
    return differenceNames(h, ranked);
  }

  /** Remembers the newest TIMESTAMP_X the headline's pages show. */
  noteNewest(h: Headline): void {
    const pages = [h.newest, h.oldestRows, ...STATUSES.map((s) => h.statuses[s].rows)];
    for (const rows of pages) {
      for (const row of rows) {
        if (this.#newestKnown === null || row.ts > this.#newestKnown) this.#newestKnown = row.ts;
      }
    }
  }

  /**
   * The names from the tail, when the headline's checks (tail.ts) say the old part is as it
   * was and no name is known to be missing; else null.
   */
  tailPlan(
    h: Headline,
    answers: Answers,
    ranked: readonly string[],
    takenAt: number,
  ): TailPlan | null {
    const base = this.#tail;
    if (base === null || this.#missing.length > 0) return null;
    const check = readCheck(h, base, answers);
    if (check === null) return null;
    const planned = tailCommands(h, base, check, ranked, takenAt);
    return planned === null ? null : { base, check, planned };
  }

  /** Commands that measure the old part with this poll's full count of names (tail.ts). */
  arm(h: Headline, ranked: readonly string[], takenAt: number): Arm | null {
    return armCommands(h, ranked, takenAt, this.#newestKnown);
  }

  storeAges(takenAt: number, h: Headline, answers: Answers): void {
    this.#ages = readAges(takenAt, h, answers);
  }

  /** The names counted from the tail; figures that do not add up end the tail's use. */
  storeTail(h: Headline, tail: TailPlan, counted: readonly string[], answers: Answers): void {
    const read = readTail(h, tail.base, tail.check, counted, answers);
    this.#groups = read.groups;
    // figures that do not add up (a queue that changed between requests): count in full next
    if (!read.consistent) this.#tail = null;
    this.#missing = shortfall(this.#groups);
  }

  /**
   * The names counted in full (`every`: each known name, one by one or by difference), with
   * the names the gap commands found, and the old part when the choice also measured it.
   */
  storeNames(h: Headline, choice: Choice, every: boolean, answers: Answers, now: number): void {
    const { names: counted, byDifference, armCutoff } = choice;
    this.#groups = readNames(h, counted, answers, byDifference);
    for (const key of Object.keys(answers)) {
      if (!key.startsWith('n:gap:')) continue;
      for (const row of pageRows(answers[key] as CallAnswer)) this.#names.add(row.name);
    }
    // With every known name counted, rows under `other` are of names no one knows yet.
    this.#missing = every ? shortfall(this.#groups) : [];
    if (every && byDifference.size === 0) {
      // counted one by one: the last names may be taken by difference until the next hour
      this.#namesExactAt = this.#missing.length === 0 ? now : null;
    }
    if (armCutoff !== null && every) {
      this.#tail = armBaseline(this.#groups, counted, answers, armCutoff, now) ?? this.#tail;
    }
  }

  /** Each counted name's total, for the ranking; `keep`: names not forgotten at 0 rows. */
  remember(counted: readonly string[], keep: Iterable<string>, now: number): void {
    this.#names.remember(this.groups, counted, keep, now);
  }
}

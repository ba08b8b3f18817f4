/**
 * When the breakdown's two sections (names, ages) were refreshed, and which are due. Request 1
 * of a poll is the headline; request 2 (rarely 3, when a slow server split the headline) the
 * breakdown. A breakdown near what one request holds (1M rows) is refreshed in two polls, the
 * names in one and the ages in the next, and the two stay staggered: each is refreshed when it
 * is due (every 9 polls at a 30-s schedule), never a poll after the other's refresh, and a
 * refresh of the names alone does not ask the newest rows (a count of the whole queue that
 * only spares age commands).
 */
import type { BreakdownDecision, DatabaseBudget } from './budget.js';

/** A section of the breakdown: refreshed with the other or in a poll of its own. */
export type Section = 'ages' | 'names';

/**
 * A whole breakdown estimated above this share of what one request may take is refreshed in
 * two polls (names, then ages) so that the estimate's drift cannot leave a section late.
 */
const STAGGER_SHARE = 0.6;

export class RefreshSchedule {
  readonly #budget: DatabaseBudget;
  /** Refresh on every poll (strategy `count`): no staggering. */
  readonly #always: boolean;
  /** The most seconds one request of a breakdown is planned to take. */
  readonly #capSeconds: number;
  /** Unix ms of each section's last refresh; null: never. */
  #namesAt: number | null = null;
  #agesAt: number | null = null;
  /** Polls the last forced refresh took (2: one section, then the other at the next poll). */
  #refreshPolls = 1;
  /** The last poll's estimate of a whole breakdown, seconds. */
  lastEstimate = 0;

  constructor(budget: DatabaseBudget, always: boolean, capSeconds: number) {
    this.#budget = budget;
    this.#always = always;
    this.#capSeconds = capSeconds;
  }

  refreshed(section: Section, now: number): void {
    if (section === 'names') this.#namesAt = now;
    else this.#agesAt = now;
  }

  /** When the older of the two sections was refreshed (null: not both yet). */
  lastAt(): number | null {
    return this.#namesAt === null || this.#agesAt === null
      ? null
      : Math.min(this.#namesAt, this.#agesAt);
  }

  /** Unix seconds of the older section's refresh; null before both ran once. */
  breakdownAt(): number | null {
    const at = this.lastAt();
    return at === null ? null : at / 1000;
  }

  /**
   * Polls a forced refresh is expected to take: two when the last one had to leave a section
   * to the next poll, or when the whole breakdown's estimate is more than one request holds.
   */
  pollsPerRefresh(): number {
    // Sections refreshed in different polls come due one at a time, each at its own age: a
    // refresh of the older one alone lands within the max age, and so does the other's later.
    if (this.#staggered()) return 1;
    // Both sections as old, and the whole near what one request holds (the estimate moves
    // from poll to poll): a poll earlier, so that a refresh split in two still lands in time.
    return Math.max(
      this.#refreshPolls,
      this.lastEstimate > STAGGER_SHARE * this.#capSeconds ? 2 : 1,
    );
  }

  /**
   * Staggered sections whose names are the older, or both as old with a refresh expected to
   * take two polls: a refresh counts the names alone (the ages are not due yet), so the
   * newest rows, asked only to spare age commands, would be a count of the whole queue for
   * nothing.
   */
  namesOnlyNext(): boolean {
    if (this.#always || this.#namesAt === null || this.#agesAt === null) return false;
    if (this.#staggered()) return this.#namesAt < this.#agesAt;
    // both as old, and a refresh expected to take two polls: the names come first
    return this.pollsPerRefresh() > 1;
  }

  /** The names were refreshed no later than the ages (never counts as earliest). */
  namesOlder(): boolean {
    return (this.#namesAt ?? -1) <= (this.#agesAt ?? -1);
  }

  /**
   * Whether a section may be refreshed now: in a refresh forced by the max age, a section that
   * is not due yet is left alone, so that the sections stay staggered (each comes due on its
   * own, in different polls) and a section counted a poll ago is not counted again.
   */
  due(section: Section, now: number, forced: boolean): boolean {
    const at = section === 'names' ? this.#namesAt : this.#agesAt;
    return !forced || at === null || this.#budget.due(now, at);
  }

  /**
   * The sections this refresh should hold. Staggered sections stay so in a refresh the budget
   * pays for too: the older one alone, each request no larger than a forced one.
   */
  sectionsDue(now: number, forced: boolean): Readonly<Record<Section, boolean>> {
    const names = this.due('names', now, forced);
    const ages = this.due('ages', now, forced);
    if ((!names && !ages) || (!forced && !this.#always && this.#staggered())) {
      // forced a poll early (a refresh expected to take two polls), or staggered: the older
      const namesOlder = this.namesOlder();
      return { names: namesOlder, ages: !namesOlder };
    }
    if (!this.#always && (this.#namesAt === null) !== (this.#agesAt === null)) {
      // the first refresh held one section: the other now, the first is a poll old
      return { names: this.#namesAt === null, ages: this.#agesAt === null };
    }
    return { names, ages };
  }

  /** After a poll's breakdown: how many polls the next forced refresh should allow. */
  afterRefresh(decision: BreakdownDecision, refreshed: readonly Section[]): void {
    if (!decision.run || decision.why !== 'max_age') return;
    // A forced refresh that held one section leaves the other to the next poll: the next
    // forced refresh starts a poll earlier, so that both land within the max age.
    this.#refreshPolls = refreshed.length === 1 ? 2 : Math.max(1, this.#refreshPolls - 1);
  }

  /** Names and ages were last refreshed in different polls. */
  #staggered(): boolean {
    return this.#namesAt !== null && this.#agesAt !== null && this.#namesAt !== this.#agesAt;
  }
}

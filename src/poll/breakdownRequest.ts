/**
 * Request 2 of a poll (3 when a slow server split the headline): the breakdown. It chooses
 * what to ask within the requests left and the allowance (breakdownChoice.ts), sends it,
 * learns the server's speed from the answers, and keeps each section whose every command was
 * answered (breakdownMemory.ts); a request that timed out is not retried in the poll.
 */
import { TimeoutError } from '../b24/errors.js';
import type { CallAnswer } from '../b24/types.js';
import type { BreakdownDecision, DatabaseBudget } from './budget.js';
import { chooseBreakdown, type Choice, type Timing, type Wanted } from './breakdownChoice.js';
import type { BreakdownMemory, TailPlan } from './breakdownMemory.js';
import type { Estimator } from './estimator.js';
import { queuedCommand, readHeadline, type Headline, type Planned } from './headline.js';
import type { HeadlineSent } from './headlineRequest.js';
import type { ScanInput } from './offlineList.js';
import type { RefreshSchedule, Section } from './refreshSchedule.js';
import { processingOf, sendPlanned } from './sendPlanned.js';

/** A poll's breakdown is its second request (rarely its third). */
const MAX_REQUESTS = 2;

/** One poll as it goes: what was asked and answered so far. */
export interface Poll {
  readonly input: ScanInput;
  readonly now: number;
  /** Every answer so far, by command key. */
  readonly answers: Record<string, CallAnswer>;
  readonly sent: HeadlineSent;
  /** The headline, read again once the oldest queued row is answered. */
  h: Headline;
  /** Processing seconds the portal reported so far. */
  processing: number;
  /** The poll was planned for a refresh (the newest rows and the tail's checks asked). */
  readonly mayRefresh: boolean;
  /** The event names bound to the application (`event.get`). */
  readonly bound: readonly string[];
}

/** What the breakdown would ask, with the tail's baseline and checks when it counts the tail. */
export interface Asked {
  readonly wanted: Wanted;
  readonly tail: TailPlan | null;
}

/** What a poll's breakdown did. */
export interface Done {
  readonly refreshed: readonly Section[];
  /** Names counted one by one. */
  readonly counted: readonly string[];
  readonly timedOut: boolean;
}

/** What the breakdown works with: the planner's parts. */
export interface BreakdownParts {
  readonly estimator: Estimator;
  readonly budget: DatabaseBudget;
  readonly schedule: RefreshSchedule;
  readonly memory: BreakdownMemory;
  /** The most seconds one request is planned to take: half the request timeout. */
  readonly capSeconds: number;
}

export class BreakdownRequest {
  readonly #estimator: Estimator;
  readonly #budget: DatabaseBudget;
  readonly #schedule: RefreshSchedule;
  readonly #memory: BreakdownMemory;
  readonly #capSeconds: number;

  constructor(parts: BreakdownParts) {
    this.#estimator = parts.estimator;
    this.#budget = parts.budget;
    this.#schedule = parts.schedule;
    this.#memory = parts.memory;
    this.#capSeconds = parts.capSeconds;
  }

  /** The breakdown's requests, and the sections they refreshed. */
  async run(poll: Poll, asked: Asked, decision: BreakdownDecision & { run: true }): Promise<Done> {
    const { requests, seconds } = poll.sent;
    const requestsLeft = Math.max(
      0,
      MAX_REQUESTS - requests + (requests > 1 && decision.why !== 'budget' ? 1 : 0),
    );
    // A refresh the budget pays for spends at most what it allows; one forced by the
    // 5-minute promise (or the first, or strategy count) is bounded by the requests alone.
    const allowance =
      decision.why === 'budget'
        ? Math.max(this.#budget.credit, this.#budget.breakdownAllowance(seconds))
        : Infinity;
    const choice = this.#choose(poll, asked.wanted, decision, requestsLeft, allowance);
    const timedOut = await this.#send(poll, choice, requestsLeft);
    const refreshed = this.#store(poll, asked, choice);
    return { refreshed, counted: choice.names, timedOut };
  }

  /** What to ask: within half the request timeout, or up to 90 % of it rather than nothing. */
  #choose(
    poll: Poll,
    wanted: Wanted,
    decision: BreakdownDecision & { run: true },
    requests: number,
    allowance: number,
  ): Choice {
    const size = poll.h.size;
    const timing: Timing = {
      schedule: this.#schedule,
      now: poll.now,
      forced: decision.why === 'max_age',
      secondsOf: (p) => this.#estimator.secondsOf(p, size),
    };
    const choice = chooseBreakdown(
      wanted,
      { requests, allowance, capSeconds: this.#capSeconds },
      timing,
    );
    if (choice.planned.length > 0 || decision.why === 'budget' || requests <= 0) return choice;
    // Nothing fits half the timeout and the breakdown is about to be too old: a server
    // this slow gets a request of up to 90 % of the timeout rather than no refresh at all.
    const capSeconds = this.#estimator.timeoutSeconds * 0.9;
    return chooseBreakdown(wanted, { requests, allowance, capSeconds }, timing);
  }

  /** Sends the breakdown's requests; true when one timed out (the rest is not sent). */
  async #send(poll: Poll, choice: Choice, requestsLeft: number): Promise<boolean> {
    const { answers, sent } = poll;
    const queuedExtra = sent.needsQueued ? [queuedCommand()] : [];
    const packs = this.#estimator.pack(
      [...queuedExtra, ...choice.planned],
      poll.h.size,
      Math.max(1, requestsLeft),
      choice.capSeconds,
    );
    const before = poll.processing;
    // A tail's request is mostly per-name ranges of the PROCESS_ID index, each row a lookup
    // of the table (EVENT_NAME): slower per row than the passes the model learns from, it
    // would make the next headline look too slow for one request.
    const timeout = await this.#sendPacks(poll, packs, !choice.tail);
    // The headline owes the oldest queued row: without it the poll fails.
    if (sent.needsQueued && !('h:queued' in answers) && timeout !== null) throw timeout;
    this.#budget.spend(poll.now, poll.processing - before);
    if (sent.needsQueued) poll.h = readHeadline(answers, sent.byDifference);
    return timeout !== null;
  }

  /**
   * The requests in order, their answers added to the poll's, until one times out: that
   * timeout (not retried in this poll: a busy server would only get the same work twice).
   */
  async #sendPacks(
    poll: Poll,
    packs: readonly (readonly Planned[])[],
    learn: boolean,
  ): Promise<TimeoutError | null> {
    const size = poll.h.size;
    for (const pack of packs) {
      try {
        const got = await sendPlanned(poll.input, pack);
        Object.assign(poll.answers, got);
        const seconds = processingOf(got);
        if (learn) this.#estimator.observe(pack, size, seconds);
        poll.processing += seconds;
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
        this.#estimator.timedOut(pack, size);
        return error;
      }
    }
    return null;
  }

  /** Keeps the sections every command of which was answered; the sections it refreshed. */
  #store(poll: Poll, asked: Asked, choice: Choice): Section[] {
    const { input, answers, now, h } = poll;
    const refreshed: Section[] = [];
    const answered = (prefix: string) =>
      choice.planned.every((p) => !p.key.startsWith(prefix) || p.key in answers);
    if (choice.ages && answered('age:')) {
      this.#memory.storeAges(input.takenAt, h, answers);
      this.#schedule.refreshed('ages', now);
      refreshed.push('ages');
    }
    if (!answered('n:')) return refreshed;
    const counted = choice.names;
    if (choice.tail && asked.tail !== null) {
      this.#memory.storeTail(h, asked.tail, counted, answers);
    } else if (choice.namesIncluded) {
      const every = counted.length >= asked.wanted.ranked.length;
      this.#memory.storeNames(h, choice, every, answers, now);
    } else {
      return refreshed;
    }
    this.#schedule.refreshed('names', now);
    refreshed.push('names');
    this.#memory.remember(counted, [...poll.bound, ...input.knownEventNames], now);
    return refreshed;
  }
}

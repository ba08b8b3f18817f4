/**
 * The count plan: the headline on every poll, the breakdowns when the database budget allows
 * and before they are 5 minutes old, each request sized to answer well within the request
 * timeout. Costs, in units of one `COUNT(*)` over the application's queue of N rows (R of
 * them reserved; see cost.ts for what EXPLAIN shows):
 *
 * | tier      | commands                                                     | cost                     |
 * | --------- | ------------------------------------------------------------ | ------------------------ |
 * | headline  | depth (oldest 50 rows), error, reserved (oldest 50 each) + `event.get`; queued = depth − error − reserved | 2 + R/N |
 * |           | + queued (oldest 50) only when the depth page holds no queued row (next request) | + 1 |
 * |           | + the newest 50 rows only when this poll may refresh the ages | + 1 |
 * | ages      | per status and age only where the headline's pages leave it open, counted from the side of the cutoff with fewer rows (`<` or `>=TIMESTAMP_X`) | a narrow side: its rows (`TIMESTAMP_X` index); else 1 (R/N reserved) |
 * | names     | per counted name, per status with rows beyond its page: queued and error 1, reserved R/N; a status's last name by difference when allowed | ≤ 2 + R/N per name |
 *
 * Measured on MariaDB 10.11 with EXPLAIN at 1M rows: the depth count reads only the
 * `(APP_ID, CONNECTOR_ID)` index; the error count, with no index on ERROR, is one pass over
 * the table (`type=ALL`), and so is every `=PROCESS_ID ""` count (queued, error, by name):
 * `IS NULL OR = ''` matches most rows; the reserved count is a range of `(PROCESS_ID)`; a
 * narrow `TIMESTAMP_X` range (2.5 % of the rows) is read through its index, a wide one (10 %)
 * is not; every page ordered by TIMESTAMP_X walks the `(TIMESTAMP_X)` index and stops after
 * 50 matching rows (no filesort). So the headline costs about 2 units, 3 in the polls that
 * ask the newest page or the oldest queued rows.
 *
 * What the numbers imply is not asked: a status's total is the headline's, so with every name
 * of the queue counted one by one, its last name is the total minus the others (allowed for
 * an hour after a count one by one left no row to any other name: RECOUNT_NAMES_MS in
 * breakdownMemory.ts); an age whose cutoff most rows are older than is the total minus the
 * rows not older.
 *
 * This file runs a poll in order (the headline, the decision, the breakdown, the oldest queued
 * row if still owed, the outcome); the parts with a name of their own are apart: request 1
 * (headlineRequest.ts), request 2 (breakdownRequest.ts), what the breakdown asks
 * (breakdownChoice.ts), when each of its sections is due (refreshSchedule.ts), what is kept
 * from poll to poll (breakdownMemory.ts), what a command costs (estimator.ts, cost.ts) and
 * what the portal's database time allows (budget.ts).
 */
import { PORTAL_DEFAULTS } from '../config/settings.js';
import type { CallAnswer } from '../b24/types.js';
import { DatabaseBudget, type BreakdownDecision } from './budget.js';
import { ageCommands, nameCommands, namesSeen } from './breakdown.js';
import { BreakdownRequest, type Asked, type Done, type Poll } from './breakdownRequest.js';
import { BreakdownMemory } from './breakdownMemory.js';
import { Estimator } from './estimator.js';
import { newestCommand, queuedCommand, readHeadline } from './headline.js';
import { HeadlineRequest } from './headlineRequest.js';
import { parseOfflineEventNames } from './parseAnswers.js';
import type { ScanInput } from './offlineList.js';
import { RefreshSchedule, type Section } from './refreshSchedule.js';
import { processingOf } from './sendPlanned.js';
import { checkCommands } from './tail.js';
import { STATUSES, type GroupStats, type QueueSnapshot, type Status } from '../queue/snapshot.js';

export interface PlanOptions {
  /** Share of wall time the monitor's database time may take. @default PORTAL_DEFAULTS.dbTimeShare */
  readonly share?: number;
  /** A request is planned to answer within half of it. @default PORTAL_DEFAULTS.requestTimeoutMs */
  readonly requestTimeoutMs?: number;
  /** Refresh the breakdowns on every poll (strategy `count`). @default false */
  readonly always?: boolean;
  /** @default BREAKDOWN_MAX_AGE_MS */
  readonly maxAgeMs?: number;
}

export interface PlanInput extends ScanInput {
  /** Unix ms the poll started. */
  readonly nowMs: number;
}

export interface PlanOutcome {
  /** Depth fresh; groups and ages as of their last refresh. */
  readonly snapshot: QueueSnapshot;
  /** Rows and oldest row per status: fresh on every poll. */
  readonly headline: Readonly<Record<Status, GroupStats>>;
  /** Unix seconds of the older of the two breakdowns' refreshes; null before both ran once. */
  readonly breakdownAt: number | null;
  readonly refreshed: readonly Section[];
  readonly decision: BreakdownDecision | null;
  /** Names counted one by one in this poll's breakdown, and names left to `other`. */
  readonly namesCounted: number;
  readonly namesInOther: number;
  readonly reservedByDifference: boolean;
  readonly totalsFromPages: boolean;
  /** A breakdown request timed out: the breakdown keeps its older figures. */
  readonly breakdownTimedOut: boolean;
  /** Processing seconds the portal reported for this poll's commands. */
  readonly processingSeconds: number;
}

/**
 * A full count of names also measures the queue's old part (for tail.ts) only when it is
 * estimated above this many seconds: below, a refresh costs less than the budget of one poll
 * at a 30-s schedule (5 %: 1.5 s), and the plan stays as simple as it was.
 */
const TAIL_MIN_SECONDS = 1;

export class CountPlanner {
  readonly #estimator: Estimator;
  readonly #budget: DatabaseBudget;
  readonly #schedule: RefreshSchedule;
  readonly #headline: HeadlineRequest;
  readonly #breakdown: BreakdownRequest;
  readonly #memory = new BreakdownMemory();
  /** The most seconds one request is planned to take: half the request timeout. */
  readonly #capSeconds: number;
  readonly #always: boolean;

  constructor(options: PlanOptions = {}) {
    this.#budget = new DatabaseBudget({
      share: options.share ?? PORTAL_DEFAULTS.dbTimeShare,
      ...(options.maxAgeMs === undefined ? {} : { maxAgeMs: options.maxAgeMs }),
    });
    const timeoutSeconds = (options.requestTimeoutMs ?? PORTAL_DEFAULTS.requestTimeoutMs) / 1000;
    this.#capSeconds = timeoutSeconds / 2;
    this.#always = options.always ?? false;
    this.#estimator = new Estimator(timeoutSeconds);
    this.#schedule = new RefreshSchedule(this.#budget, this.#always, this.#capSeconds);
    this.#headline = new HeadlineRequest(this.#estimator, this.#capSeconds);
    this.#breakdown = new BreakdownRequest({
      estimator: this.#estimator,
      budget: this.#budget,
      schedule: this.#schedule,
      memory: this.#memory,
      capSeconds: this.#capSeconds,
    });
  }

  /** Seconds per examined row the plan currently believes. */
  get secondsPerRow(): number {
    return this.#estimator.secondsPerRow;
  }

  async poll(input: PlanInput): Promise<PlanOutcome> {
    this.#budget.tick(input.nowMs);
    const poll = await this.#askHeadline(input);
    const asked = this.#asked(poll);
    const decision = this.#decide(poll);
    const done: Done = decision.run
      ? await this.#breakdown.run(poll, asked, decision)
      : { refreshed: [], counted: [], timedOut: false };
    await this.#askOwedQueued(poll);
    this.#schedule.afterRefresh(decision, done.refreshed);
    return this.#outcome(poll, decision, done);
  }

  /** Request 1 (2 when a slow server cannot answer the headline within one): the headline. */
  async #askHeadline(input: PlanInput): Promise<Poll> {
    const now = input.nowMs;
    const head = this.#headline.commands();
    // The newest rows only in a poll that may refresh the ages (as the last poll saw it),
    // where they spare age commands; a queue known to fit one page shows them in its depth page.
    // The credit must cover this headline too (with the newest rows: one more count of the
    // queue), or the newest rows would be asked by polls whose headline then leaves too little
    // for the breakdown: a headline-only poll of 3.5 counts instead of 2.5 (bench --sql-trace).
    const mayRefresh = this.#budget.decide(
      now,
      this.#schedule.lastAt(),
      this.#schedule.lastEstimate + this.#headline.secondsWithNewest(head),
      this.#always,
      this.#schedule.pollsPerRefresh(),
    ).run;
    if (mayRefresh && !this.#schedule.namesOnlyNext() && this.#headline.newestWorthAsking()) {
      head.push(newestCommand());
    }
    // A names refresh may count the tail only: first, whether the old rows are as they were.
    const tail = this.#memory.tailBaseline;
    if (!this.#always && mayRefresh && tail !== null) head.push(...checkCommands(tail, now));
    head.push({ key: 'handlers', command: { method: 'event.get', params: {} }, cost: 'none' });
    const answers: Record<string, CallAnswer> = {};
    const sent = await this.#headline.send(input, head, answers);
    this.#budget.spend(now, sent.seconds);
    const bound = parseOfflineEventNames(answers['handlers']?.result, input.authConnector);
    return { input, now, answers, sent, h: sent.h, processing: sent.seconds, mayRefresh, bound };
  }

  /** What the breakdown would ask in this poll; its estimate is the schedule's next. */
  #asked(poll: Poll): Asked {
    const { input, h } = poll;
    const ranked = this.#memory.rank([...input.knownEventNames, ...poll.bound, ...namesSeen(h)]);
    const ages = ageCommands(input, h);
    const implied = this.#memory.implied(h, ranked, poll.now);
    const allNames = nameCommands(h, ranked, implied);
    this.#memory.noteNewest(h);
    const tail = this.#always
      ? null
      : this.#memory.tailPlan(h, poll.answers, ranked, input.takenAt);
    // Worth measuring only where the full count of names is a real cost (TAIL_MIN_SECONDS).
    const arm =
      this.#always || tail !== null || this.#estimator.seconds(allNames, h.size) < TAIL_MIN_SECONDS
        ? null
        : this.#memory.arm(h, ranked, input.takenAt);
    const whole = [...ages, ...(tail?.planned ?? allNames)];
    this.#schedule.lastEstimate = this.#estimator.seconds(whole, h.size);
    const missing = this.#memory.missing;
    return {
      wanted: { h, ages, ranked, implied, tail: tail?.planned ?? null, arm, missing },
      tail,
    };
  }

  #decide(poll: Poll): BreakdownDecision {
    const decision = this.#budget.decide(
      poll.now,
      this.#schedule.lastAt(),
      this.#schedule.lastEstimate,
      this.#always,
      this.#schedule.pollsPerRefresh(),
    );
    // A refresh the budget pays for runs only in a poll that was planned for it (the newest
    // rows and the tail's checks asked): a cheaper headline than estimated waits for the next.
    if (decision.run && decision.why === 'budget' && !poll.mayRefresh) {
      return { run: false, why: 'budget' };
    }
    return decision;
  }

  /** No breakdown answered the oldest queued row: it alone, in the next request. */
  async #askOwedQueued(poll: Poll): Promise<void> {
    if (!poll.sent.needsQueued || 'h:queued' in poll.answers) return;
    const got = await this.#headline.request(poll.input, [queuedCommand()]);
    Object.assign(poll.answers, got);
    const seconds = processingOf(got);
    this.#budget.spend(poll.now, seconds);
    poll.processing += seconds;
    poll.h = readHeadline(poll.answers, poll.sent.byDifference);
  }

  #outcome(poll: Poll, decision: BreakdownDecision, done: Done): PlanOutcome {
    const { h } = poll;
    const headline = Object.fromEntries(
      STATUSES.map((s) => [s, { count: h.statuses[s].total, oldest: h.statuses[s].oldest }]),
    ) as Record<Status, GroupStats>;
    const names = done.refreshed.includes('names');
    return {
      snapshot: {
        takenAt: poll.input.takenAt,
        depth: h.depth,
        groups: this.#memory.groups,
        olderThan: this.#memory.ages,
      },
      headline,
      breakdownAt: this.#schedule.breakdownAt(),
      refreshed: done.refreshed,
      decision,
      namesCounted: names ? done.counted.length : 0,
      namesInOther: names ? this.#memory.namesLeftOut(done.counted.length) : 0,
      reservedByDifference: h.reservedByDifference,
      totalsFromPages: h.totalsFromPages,
      breakdownTimedOut: done.timedOut,
      processingSeconds: poll.processing,
    };
  }
}

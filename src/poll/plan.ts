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
 * an hour after a count one by one left no row to any other name: RECOUNT_NAMES_MS); an age
 * whose cutoff most rows are older than is the total minus the rows not older.
 *
 * Request 1 is the headline; request 2 (rarely 3, when a slow server split the headline) the
 * breakdown. A breakdown near what one request holds (1M rows) is refreshed in two polls, the
 * names in one and the ages in the next, and the two stay staggered: each is refreshed when it
 * is due (every 9 polls at a 30-s schedule), never a poll after the other's refresh, and a
 * refresh of the names alone does not ask the newest rows (a count of the whole queue that
 * only spares age commands). Names beyond what the requests and the budget hold are not counted one by one:
 * the most numerous ones are (names never counted first), the rest add up under `other`.
 * When every name was counted and `other` still holds rows (names only the queue knows), the
 * next names refresh adds one command per gap between the known names (≤ 1 unit each) to
 * find them.
 */
import { TimeoutError } from '../b24/errors.js';
import { PORTAL_DEFAULTS } from '../config/settings.js';
import type { BatchCommand, CallAnswer } from '../b24/types.js';
import { DatabaseBudget, type BreakdownDecision } from './budget.js';
import {
  ageCommands,
  differenceNames,
  gapCommands,
  shortfall,
  nameCommands,
  namesSeen,
  OTHER_EVENT_NAME,
  readAges,
  readNames,
  statusesToCount,
  type ByDifference,
  type OlderThan,
} from './breakdown.js';
import { runCommands } from './runBatch.js';
import { rowsExamined, ServerSpeed, type QueueSize } from './cost.js';
import {
  headlineCommands,
  needsQueuedCommand,
  newestCommand,
  pageRows,
  queuedCommand,
  readHeadline,
  reservedFilterAgrees,
  reservedFilterDisagrees,
  type Headline,
  type Planned,
} from './headline.js';
import { NameBook } from './names.js';
import {
  armBaseline,
  armCommands,
  checkCommands,
  readCheck,
  readTail,
  tailCommands,
  type TailBaseline,
} from './tail.js';
import { pack, Packer } from './pack.js';
import { parseOfflineEventNames } from './parseAnswers.js';
import { callOptions, PAGE_SIZE, type ScanInput } from './offlineList.js';
import {
  emptyAgeCounts,
  STATUSES,
  type GroupStats,
  type QueueSnapshot,
  type Status,
  type StatusStats,
} from '../queue/snapshot.js';

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

type Section = 'ages' | 'names';

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

const MAX_REQUESTS = 2;
/**
 * A status's last name is counted by difference only while the last count of every name one
 * by one, this recent, left no row to any other name: rows come only for bound events, and
 * the bindings are read on every poll, so a name no one knows would have to be bound and
 * unbound between two polls; the hourly count one by one finds it even then.
 */
const RECOUNT_NAMES_MS = 60 * 60_000;
/**
 * A whole breakdown estimated above this share of what one request may take is refreshed in
 * two polls (names, then ages) so that the estimate's drift cannot leave a section late.
 */
const STAGGER_SHARE = 0.6;
/**
 * A full count of names also measures the queue's old part (for tail.ts) only when it is
 * estimated above this many seconds: below, a refresh costs less than the budget of one poll
 * at a 30-s schedule (5 %: 1.5 s), and the plan stays as simple as it was.
 */
const TAIL_MIN_SECONDS = 1;

interface Choice {
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

function processingOf(
  answers: Readonly<Record<string, CallAnswer>>,
  keys: Iterable<string>,
): number {
  let sum = 0;
  for (const key of keys) {
    const value = answers[key]?.time?.processing;
    if (typeof value === 'number' && value > 0) sum += value;
  }
  return sum;
}

export class CountPlanner {
  readonly #speed = new ServerSpeed();
  readonly #budget: DatabaseBudget;
  readonly #capSeconds: number;
  readonly #timeoutSeconds: number;
  readonly #always: boolean;
  readonly #names = new NameBook();
  #size: QueueSize = { rows: 0, reserved: 0 };
  #groups: Map<string, StatusStats> | null = null;
  #groupsAt: number | null = null;
  #ages: OlderThan | null = null;
  #agesAt: number | null = null;
  /** Statuses with rows of unknown names at the last full count of names. */
  #missing: Status[] = [];
  /** When every name was last counted one by one with no row left to another name. */
  #namesExactAt: number | null = null;
  /** The `>PROCESS_ID ""` filter contradicted the depth page: reserved by difference until it agrees again. */
  #byDifference = false;
  /** Polls the last forced refresh took (2: one section, then the other at the next poll). */
  #refreshPolls = 1;
  /** The last poll's estimate of a whole breakdown, seconds. */
  #lastEstimate = 0;
  /** The old part of the queue at the last full count of names that measured it (tail.ts). */
  #tail: TailBaseline | null = null;
  /** The newest TIMESTAMP_X any page showed: how long the queue's tail is, roughly. */
  #newestKnown: number | null = null;

  constructor(options: PlanOptions = {}) {
    this.#budget = new DatabaseBudget({
      share: options.share ?? PORTAL_DEFAULTS.dbTimeShare,
      ...(options.maxAgeMs === undefined ? {} : { maxAgeMs: options.maxAgeMs }),
    });
    this.#timeoutSeconds = (options.requestTimeoutMs ?? PORTAL_DEFAULTS.requestTimeoutMs) / 1000;
    this.#capSeconds = this.#timeoutSeconds / 2;
    this.#always = options.always ?? false;
  }

  /** Seconds per examined row the plan currently believes. */
  get secondsPerRow(): number {
    return this.#speed.secondsPerRow;
  }

  async poll(input: PlanInput): Promise<PlanOutcome> {
    const now = input.nowMs;
    this.#budget.tick(now);
    const answers: Record<string, CallAnswer> = {};
    let processing = 0;

    // Request 1 (2 when a slow server cannot answer the headline within one): the headline.
    const head = headlineCommands();
    // A portal whose `>PROCESS_ID ""` was distrusted once has its queued rows counted at once.
    if (this.#byDifference) head.push(queuedCommand());
    // The newest rows only in a poll that may refresh the ages (as the last poll saw it),
    // where they spare age commands; a queue known to fit one page shows them in its depth page.
    // The credit must cover this headline too (with the newest rows: one more count of the
    // queue), or the newest rows would be asked by polls whose headline then leaves too little
    // for the breakdown: a headline-only poll of 3.5 counts instead of 2.5 (bench --sql-trace).
    const headEstimate = this.#estimate([...head, newestCommand()], this.#size);
    const mayRefresh = this.#budget.decide(
      now,
      this.#lastAt(),
      this.#lastEstimate + headEstimate,
      this.#always,
      this.#pollsPerRefresh(),
    );
    if (
      mayRefresh.run &&
      !this.#namesOnlyNext() &&
      (this.#size.rows === 0 || this.#size.rows > PAGE_SIZE)
    ) {
      head.push(newestCommand());
    }
    // A names refresh may count the tail only: first, whether the old rows are as they were.
    if (!this.#always && mayRefresh.run && this.#tail !== null) {
      head.push(...checkCommands(this.#tail, now));
    }
    head.push({ key: 'handlers', command: { method: 'event.get', params: {} }, cost: 'none' });
    const headPacks = this.#pack(head, this.#size, 2, this.#capSeconds);
    for (const pack of headPacks) Object.assign(answers, await this.#runAsHeadline(input, pack));
    // The depth page held no queued row: their oldest row needs its own command, sent ahead
    // of the breakdown in the next request (a third only when a slow server split the headline).
    if (!this.#byDifference && reservedFilterDisagrees(answers)) this.#byDifference = true;
    const byDifference = this.#byDifference;
    let headRequests = headPacks.length;
    if (byDifference && needsQueuedCommand(answers, true)) {
      // Just distrusted: the breakdown is planned from reserved rows by difference, so the
      // queued count comes first, in a request of its own (this poll only).
      Object.assign(answers, await this.#runAsHeadline(input, [queuedCommand()]));
      headRequests += 1;
    }
    const needsQueued = needsQueuedCommand(answers, byDifference);
    const queuedExtra = needsQueued ? [queuedCommand()] : [];
    let h = readHeadline(answers, byDifference);
    // A filter distrusted once (a race between two commands can look like it) is checked
    // against the difference on every poll and trusted again when they agree.
    if (byDifference && reservedFilterAgrees(answers)) this.#byDifference = false;
    this.#size = h.size;
    const headSeconds = processingOf(answers, Object.keys(answers));
    this.#speed.observe(this.#rows(head, h.size), headSeconds);
    this.#budget.spend(now, headSeconds);
    processing += headSeconds;

    const bound = parseOfflineEventNames(answers['handlers']?.result, input.authConnector);
    for (const name of [...input.knownEventNames, ...bound, ...namesSeen(h)]) {
      if (name !== OTHER_EVENT_NAME) this.#names.add(name);
    }
    const ranked = this.#names.ranked();
    const ages = ageCommands(input, h);
    const implied = this.#implied(h, ranked, now);
    const allNames = nameCommands(h, ranked, implied);
    this.#noteNewest(h);
    const base = this.#tail;
    const check =
      base === null || this.#always || this.#missing.length > 0
        ? null
        : readCheck(h, base, answers);
    const tail =
      base === null || check === null ? null : tailCommands(h, base, check, ranked, input.takenAt);
    // Worth measuring only where the full count of names is a real cost (TAIL_MIN_SECONDS).
    const arm =
      this.#always || tail !== null || this.#estimate(allNames, h.size) < TAIL_MIN_SECONDS
        ? null
        : armCommands(h, ranked, input.takenAt, this.#newestKnown);
    this.#lastEstimate = this.#estimate([...ages, ...(tail ?? allNames)], h.size);
    let decision = this.#budget.decide(
      now,
      this.#lastAt(),
      this.#lastEstimate,
      this.#always,
      this.#pollsPerRefresh(),
    );
    // A refresh the budget pays for runs only in a poll that was planned for it (the newest
    // rows and the tail's checks asked): a cheaper headline than estimated waits for the next.
    if (decision.run && decision.why === 'budget' && !mayRefresh.run) {
      decision = { run: false, why: 'budget' };
    }

    const refreshed: Section[] = [];
    let counted: string[] = [];
    let timedOut = false;
    if (decision.run) {
      const requestsLeft = Math.max(
        0,
        MAX_REQUESTS - headRequests + (headRequests > 1 && decision.why !== 'budget' ? 1 : 0),
      );
      // A refresh the budget pays for spends at most what it allows; one forced by the
      // 5-minute promise (or the first, or strategy count) is bounded by the requests alone.
      const allowance =
        decision.why === 'budget'
          ? Math.max(this.#budget.credit, this.#budget.breakdownAllowance(headSeconds))
          : Infinity;
      let choice = this.#choose(
        h,
        ages,
        ranked,
        implied,
        requestsLeft,
        allowance,
        this.#capSeconds,
        now,
        decision.why === 'max_age',
        tail,
        arm,
      );
      if (choice.planned.length === 0 && decision.why !== 'budget' && requestsLeft > 0) {
        // Nothing fits half the timeout and the breakdown is about to be too old: a server
        // this slow gets a request of up to 90 % of the timeout rather than no refresh at all.
        choice = this.#choose(
          h,
          ages,
          ranked,
          implied,
          requestsLeft,
          allowance,
          this.#timeoutSeconds * 0.9,
          now,
          decision.why === 'max_age',
          tail,
          arm,
        );
      }
      counted = [...choice.names];
      const packs = this.#pack(
        [...queuedExtra, ...choice.planned],
        h.size,
        Math.max(1, requestsLeft),
        choice.capSeconds,
      );
      const before = processing;
      let lastTimeout: TimeoutError | null = null;
      for (const pack of packs) {
        try {
          const got = await this.#run(input, pack);
          Object.assign(answers, got);
          const seconds = processingOf(got, Object.keys(got));
          // A tail's request is mostly per-name ranges of the PROCESS_ID index, each row a
          // lookup of the table (EVENT_NAME): slower per row than the passes the model learns
          // from, it would make the next headline look too slow for one request.
          if (!choice.tail) this.#speed.observe(this.#rows(pack, h.size), seconds);
          processing += seconds;
        } catch (error) {
          if (!(error instanceof TimeoutError)) throw error;
          lastTimeout = error;
          // Not retried in this poll: a busy server would only get the same work twice.
          this.#speed.timedOut(this.#rows(pack, h.size), this.#timeoutSeconds);
          timedOut = true;
          break;
        }
      }
      // The headline owes the oldest queued row: without it the poll fails.
      if (needsQueued && !('h:queued' in answers) && lastTimeout !== null) throw lastTimeout;
      this.#budget.spend(now, processing - before);
      if (needsQueued) h = readHeadline(answers, byDifference);
      // A section is refreshed when every one of its commands was answered.
      const answered = (prefix: string) =>
        choice.planned.every((p) => !p.key.startsWith(prefix) || p.key in answers);
      if (choice.ages && answered('age:')) {
        this.#ages = readAges(input.takenAt, h, answers);
        this.#agesAt = now;
        refreshed.push('ages');
      }
      if (choice.tail && check !== null && base !== null && answered('n:')) {
        const read = readTail(h, base, check, counted, answers);
        this.#groups = read.groups;
        // figures that do not add up (a queue that changed between requests): count in full next
        if (!read.consistent) this.#tail = null;
        this.#missing = shortfall(this.#groups);
        this.#groupsAt = now;
        refreshed.push('names');
        this.#names.remember(this.#groups, counted, [...bound, ...input.knownEventNames], now);
      } else if (choice.namesIncluded && answered('n:')) {
        this.#groups = readNames(h, counted, answers, choice.byDifference);
        for (const key of Object.keys(answers)) {
          if (!key.startsWith('n:gap:')) continue;
          for (const row of pageRows(answers[key] as CallAnswer)) this.#names.add(row.name);
        }
        // With every known name counted, rows under `other` are of names no one knows yet.
        this.#missing = counted.length >= ranked.length ? shortfall(this.#groups) : [];
        if (counted.length >= ranked.length && choice.byDifference.size === 0) {
          // counted one by one: the last names may be taken by difference until the next hour
          this.#namesExactAt = this.#missing.length === 0 ? now : null;
        }
        if (choice.armCutoff !== null && counted.length >= ranked.length) {
          this.#tail =
            armBaseline(this.#groups, counted, answers, choice.armCutoff, now) ?? this.#tail;
        }
        this.#groupsAt = now;
        refreshed.push('names');
        this.#names.remember(this.#groups, counted, [...bound, ...input.knownEventNames], now);
      }
    }

    if (needsQueued && !('h:queued' in answers)) {
      // No breakdown this poll: the oldest queued row alone, in the next request.
      const got = await this.#runAsHeadline(input, queuedExtra);
      Object.assign(answers, got);
      const seconds = processingOf(got, Object.keys(got));
      this.#budget.spend(now, seconds);

      processing += seconds;
      h = readHeadline(answers, byDifference);
    }

    if (decision.run && decision.why === 'max_age') {
      // A forced refresh that held one section leaves the other to the next poll: the next
      // forced refresh starts a poll earlier, so that both land within the max age.
      this.#refreshPolls = refreshed.length === 1 ? 2 : Math.max(1, this.#refreshPolls - 1);
    }

    const headline = Object.fromEntries(
      STATUSES.map((s) => [s, { count: h.statuses[s].total, oldest: h.statuses[s].oldest }]),
    ) as Record<Status, GroupStats>;
    const breakdownAt =
      this.#groupsAt === null || this.#agesAt === null
        ? null
        : Math.min(this.#groupsAt, this.#agesAt) / 1000;
    return {
      snapshot: {
        takenAt: input.takenAt,
        depth: h.depth,
        groups: this.#groups ?? new Map(),
        olderThan: this.#ages ?? {
          queued: emptyAgeCounts(),
          reserved: emptyAgeCounts(),
          error: emptyAgeCounts(),
        },
      },
      headline,
      breakdownAt,
      refreshed,
      decision,
      namesCounted: refreshed.includes('names') ? counted.length : 0,
      namesInOther: refreshed.includes('names') ? this.#names.size - counted.length : 0,
      reservedByDifference: h.reservedByDifference,
      totalsFromPages: h.totalsFromPages,
      breakdownTimedOut: timedOut,
      processingSeconds: processing,
    };
  }

  /**
   * What this poll's breakdown asks, within the requests left (50 commands and half the
   * request timeout each) and the database allowance: both sections whole when they fit;
   * else, when the names fit whole alone, the older section whole (the other follows at the
   * next poll, being then the older); else the ages and as many names as fit, in rank order,
   * the rest under `other`.
   */
  #choose(
    h: Headline,
    ages: readonly Planned[],
    ranked: readonly string[],
    implied: ByDifference,
    requestsLeft: number,
    allowance: number,
    capSeconds: number,
    now: number,
    forced: boolean,
    tail: readonly Planned[] | null,
    arm: { cutoff: number; planned: Planned[] } | null,
  ): Choice {
    const est = (p: Planned) => this.#speed.estimate(rowsExamined(p, h.size));
    const fits = (planned: readonly Planned[]) => {
      const packer = new Packer(requestsLeft, capSeconds);
      const cost = planned.reduce((sum, p) => sum + est(p), 0);
      return (planned.length === 0 || packer.tryAdd(planned.map(est))) && cost <= allowance;
    };
    const freeNames = statusesToCount(h).length === 0;
    // Every name was counted last time and some rows still belonged to none: look for them.
    const missing = this.#missing;
    const discover =
      missing.length === 0 ? [] : gapCommands(ranked, missing.length === 1 ? missing[0]! : null);
    const useTail = tail !== null && discover.length === 0;
    const byDifference = discover.length === 0 && !useTail ? implied : new Map<Status, string>();
    const allNames = useTail
      ? tail
      : [...(freeNames ? [] : nameCommands(h, ranked, byDifference)), ...discover];
    const whole = (withAges: boolean, withNames: boolean): Choice => {
      const planned = [...(withAges ? ages : []), ...(withNames ? allNames : [])];
      // A full count of names also measures the old part when that fits too (tail.ts).
      const armed = withNames && !useTail && arm !== null && fits([...planned, ...arm.planned]);
      return {
        planned: armed ? [...planned, ...arm.planned] : planned,
        ages: withAges,
        names: withNames ? [...ranked] : [],
        namesIncluded: withNames,
        byDifference: withNames ? byDifference : new Map(),
        capSeconds,
        tail: withNames && useTail,
        armCutoff: armed ? arm.cutoff : null,
      };
    };
    // In a refresh forced by the max age, a section that is not due yet is left alone: the
    // sections stay staggered (each comes due on its own, in different polls) and a section
    // counted a poll ago is not counted again. Staggered sections stay so in a refresh the
    // budget pays for too: the older one alone, each request no larger than a forced one.
    const due = (at: number | null) => !forced || at === null || this.#budget.due(now, at);
    const namesOlder = (this.#groupsAt ?? -1) <= (this.#agesAt ?? -1);
    let namesDue = due(this.#groupsAt);
    let agesDue = due(this.#agesAt);
    if ((!namesDue && !agesDue) || (!forced && !this.#always && this.#staggered())) {
      // forced a poll early (a refresh expected to take two polls), or staggered: the older
      namesDue = namesOlder;
      agesDue = !namesOlder;
    } else if (!this.#always && (this.#groupsAt === null) !== (this.#agesAt === null)) {
      // the first refresh held one section: the other now, the first is a poll old
      namesDue = this.#groupsAt === null;
      agesDue = this.#agesAt === null;
    }
    if (agesDue && !namesDue && fits(ages)) return whole(true, false);
    if (namesDue && !agesDue && fits(allNames)) return whole(false, true);
    // A full count of names that the ages would keep from measuring the queue's old part
    // (tail.ts: 2 commands a name, past 50 commands or the request's cap) takes it alone
    // when nothing forces both now; the ages follow at the next poll, and the names are
    // counted from the tail from then on instead of in full every time (bench --sql, stuck).
    const armable = !forced && !useTail && arm !== null;
    if (
      armable &&
      !fits([...ages, ...allNames, ...arm.planned]) &&
      fits([...allNames, ...arm.planned])
    ) {
      return whole(false, true);
    }
    if (fits([...ages, ...allNames])) return whole(true, true);
    if (fits(allNames)) {
      // the names fit whole alone: one section now, the other at the next poll
      const namesFirst = (this.#groupsAt ?? -1) <= (this.#agesAt ?? -1);
      if (namesFirst || !fits(ages)) return whole(false, true);
      return whole(true, false);
    }
    // Neither fits whole: the older section first, as much of it as fits, then the other.
    const packer = new Packer(requestsLeft, capSeconds);
    let spent = 0;
    const agesCost = ages.reduce((sum, p) => sum + est(p), 0);
    const takeAges = () =>
      agesCost <= allowance - spent && (ages.length === 0 || packer.tryAdd(ages.map(est)));
    const names: string[] = [];
    const commands: Planned[] = [];
    const takeNames = () => {
      for (const name of ranked) {
        const mine = nameCommands(h, [name]);
        const cost = mine.reduce((sum, p) => sum + est(p), 0);
        if (spent + cost > allowance || !packer.tryAdd(mine.map(est))) break;
        spent += cost;
        names.push(name);
        commands.push(...mine);
      }
    };
    // In a refresh forced by the max age, the newer section follows only when it is due
    // too: counting it again now would spend what the next refresh spends anyway.
    let withAges: boolean;
    if ((this.#groupsAt ?? -1) <= (this.#agesAt ?? -1)) {
      takeNames();
      withAges = due(this.#agesAt) && takeAges();
    } else {
      withAges = takeAges();
      if (withAges) spent += agesCost;
      if (due(this.#groupsAt)) takeNames();
    }
    return {
      planned: [...(withAges ? ages : []), ...commands],
      ages: withAges,
      names,
      namesIncluded: names.length > 0,
      // some names left to `other`: no name is implied
      byDifference: new Map(),
      capSeconds,
      tail: false,
      armCutoff: null,
    };
  }

  /** The names implied by difference in this poll (none unless the last full count allows it). */
  #implied(h: Headline, ranked: readonly string[], now: number): ByDifference {
    const recent = this.#namesExactAt !== null && now - this.#namesExactAt < RECOUNT_NAMES_MS;
    if (!recent || this.#missing.length > 0) return new Map();
    return differenceNames(h, ranked);
  }

  /**
   * Polls a forced refresh is expected to take: two when the last one had to leave a section
   * to the next poll, or when the whole breakdown's estimate is more than one request holds.
   */
  #pollsPerRefresh(): number {
    // Sections refreshed in different polls come due one at a time, each at its own age: a
    // refresh of the older one alone lands within the max age, and so does the other's later.
    if (this.#staggered()) return 1;
    // Both sections as old, and the whole near what one request holds (the estimate moves
    // from poll to poll): a poll earlier, so that a refresh split in two still lands in time.
    return Math.max(
      this.#refreshPolls,
      this.#lastEstimate > STAGGER_SHARE * this.#capSeconds ? 2 : 1,
    );
  }

  /** Names and ages were last refreshed in different polls. */
  #staggered(): boolean {
    return this.#groupsAt !== null && this.#agesAt !== null && this.#groupsAt !== this.#agesAt;
  }

  /**
   * Staggered sections whose names are the older, or both as old with a refresh expected to
   * take two polls: a refresh counts the names alone (the ages are not due yet), so the
   * newest rows, asked only to spare age commands, would be a count of the whole queue for
   * nothing.
   */
  #namesOnlyNext(): boolean {
    if (this.#always || this.#groupsAt === null || this.#agesAt === null) return false;
    if (this.#staggered()) return this.#groupsAt < this.#agesAt;
    // both as old, and a refresh expected to take two polls: the names come first
    return this.#pollsPerRefresh() > 1;
  }

  /** Remembers the newest TIMESTAMP_X the headline's pages show. */
  #noteNewest(h: Headline): void {
    const pages = [h.newest, h.oldestRows, ...STATUSES.map((s) => h.statuses[s].rows)];
    for (const rows of pages) {
      for (const row of rows) {
        if (this.#newestKnown === null || row.ts > this.#newestKnown) this.#newestKnown = row.ts;
      }
    }
  }

  /** When the older of the two breakdowns was refreshed (null: not both yet). */
  #lastAt(): number | null {
    return this.#groupsAt === null || this.#agesAt === null
      ? null
      : Math.min(this.#groupsAt, this.#agesAt);
  }

  #estimate(planned: readonly Planned[], size: QueueSize): number {
    return this.#speed.estimate(this.#rows(planned, size));
  }

  #rows(planned: readonly Planned[], size: QueueSize): number {
    return planned.reduce((sum, p) => sum + rowsExamined(p, size), 0);
  }

  #pack(
    planned: readonly Planned[],
    size: QueueSize,
    limit: number,
    capSeconds: number,
  ): Planned[][] {
    return pack(planned, (p) => this.#speed.estimate(rowsExamined(p, size)), limit, capSeconds);
  }

  /** A request of the headline: its failure fails the poll, but the next one plans smaller. */
  async #runAsHeadline(
    input: ScanInput,
    pack: readonly Planned[],
  ): Promise<Record<string, CallAnswer>> {
    try {
      return await this.#run(input, pack);
    } catch (error) {
      if (error instanceof TimeoutError) {
        this.#speed.timedOut(this.#rows(pack, this.#size), this.#timeoutSeconds);
      }
      throw error;
    }
  }

  async #run(input: ScanInput, pack: readonly Planned[]): Promise<Record<string, CallAnswer>> {
    const commands: Record<string, BatchCommand> = {};
    for (const p of pack) commands[p.key] = p.command;
    return runCommands(input.client, commands, callOptions(input));
  }
}

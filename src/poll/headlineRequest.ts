/**
 * Request 1 of every poll, the headline (headline.ts: depth, error, reserved, each with its
 * oldest rows), sent in as few requests as the server's speed allows: 2 when a slow server
 * cannot answer it within one. It keeps between polls what the next headline depends on: the
 * queue's size (its estimate) and whether the `>PROCESS_ID ""` filter is trusted. A filter
 * distrusted once (a race between two commands can look like it) is checked against the
 * difference on every poll and trusted again when they agree.
 */
import { TimeoutError } from '../b24/errors.js';
import type { CallAnswer } from '../b24/types.js';
import type { QueueSize } from './cost.js';
import type { Estimator } from './estimator.js';
import {
  headlineCommands,
  needsQueuedCommand,
  newestCommand,
  queuedCommand,
  readHeadline,
  reservedFilterAgrees,
  reservedFilterDisagrees,
  type Headline,
  type Planned,
} from './headline.js';
import { PAGE_SIZE, type ScanInput } from './offlineList.js';
import { processingOf, sendPlanned } from './sendPlanned.js';

/** What the headline's requests answered. */
export interface HeadlineSent {
  readonly h: Headline;
  /** Requests it took: 2 when a slow server split it, one more when the filter was just distrusted. */
  readonly requests: number;
  /** Processing seconds the portal reported for them. */
  readonly seconds: number;
  /** Reserved rows are depth − queued − error in this poll. */
  readonly byDifference: boolean;
  /** The oldest queued row is still to be asked (`queuedCommand`, in the next request). */
  readonly needsQueued: boolean;
}

export class HeadlineRequest {
  readonly #estimator: Estimator;
  readonly #capSeconds: number;
  /** The queue's size as the last headline read it: what the next one is sized by. */
  #size: QueueSize = { rows: 0, reserved: 0 };
  /** The `>PROCESS_ID ""` filter contradicted the depth page: reserved by difference until it agrees again. */
  #byDifference = false;

  constructor(estimator: Estimator, capSeconds: number) {
    this.#estimator = estimator;
    this.#capSeconds = capSeconds;
  }

  /** The commands every headline asks. */
  commands(): Planned[] {
    const head = headlineCommands();
    // A portal whose `>PROCESS_ID ""` was distrusted once has its queued rows counted at once.
    if (this.#byDifference) head.push(queuedCommand());
    return head;
  }

  /** Estimated seconds of these commands with the newest rows added. */
  secondsWithNewest(head: readonly Planned[]): number {
    return this.#estimator.seconds([...head, newestCommand()], this.#size);
  }

  /** The newest rows are worth a command: a queue known to fit one page shows them in its depth page. */
  newestWorthAsking(): boolean {
    return this.#size.rows === 0 || this.#size.rows > PAGE_SIZE;
  }

  /** Sends the commands and reads the headline from the answers (added to `answers`). */
  async send(
    input: ScanInput,
    head: readonly Planned[],
    answers: Record<string, CallAnswer>,
  ): Promise<HeadlineSent> {
    const packs = this.#estimator.pack(head, this.#size, 2, this.#capSeconds);
    for (const pack of packs) Object.assign(answers, await this.request(input, pack));
    if (!this.#byDifference && reservedFilterDisagrees(answers)) this.#byDifference = true;
    const byDifference = this.#byDifference;
    let requests = packs.length;
    if (byDifference && needsQueuedCommand(answers, true)) {
      // Just distrusted: the breakdown is planned from reserved rows by difference, so the
      // queued count comes first, in a request of its own (this poll only).
      Object.assign(answers, await this.request(input, [queuedCommand()]));
      requests += 1;
    }
    // The depth page held no queued row: their oldest row needs its own command, sent ahead
    // of the breakdown in the next request (a third only when a slow server split the headline).
    const needsQueued = needsQueuedCommand(answers, byDifference);
    const h = readHeadline(answers, byDifference);
    if (byDifference && reservedFilterAgrees(answers)) this.#byDifference = false;
    this.#size = h.size;
    const seconds = processingOf(answers);
    this.#estimator.observe(head, h.size, seconds);
    return { h, requests, seconds, byDifference, needsQueued };
  }

  /** A request of the headline: its failure fails the poll, but the next one plans smaller. */
  async request(input: ScanInput, pack: readonly Planned[]): Promise<Record<string, CallAnswer>> {
    try {
      return await sendPlanned(input, pack);
    } catch (error) {
      if (error instanceof TimeoutError) this.#estimator.timedOut(pack, this.#size);
      throw error;
    }
  }
}

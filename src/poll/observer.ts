/**
 * What a poll reports, to whoever counts it: metrics/ implements it and the composition root
 * wires it, so poll/ knows nothing of prom-client (as b24/ reports through `ClientObserver`).
 */
import type { FailureReason } from '../b24/errors.js';
import type { GroupStats, QueueSnapshot, Status } from '../queue/snapshot.js';
import type { Strategy } from '../queue/strategy.js';

export interface PollFinished {
  readonly durationSeconds: number;
  /** HTTP requests the poll sent to the portal. */
  readonly requests: number;
  /** Unset when the poll failed before choosing one. */
  readonly strategy?: Strategy | undefined;
}

export interface PollSucceeded extends PollFinished {
  readonly strategy: Strategy;
  /** Unix seconds. */
  readonly finishedAt: number;
  /** Rows and oldest row per status as of this poll. */
  readonly headline?: Readonly<Record<Status, GroupStats>> | undefined;
  /** When the per-name and per-age figures were refreshed; null: not yet. */
  readonly breakdownAt?: number | null | undefined;
}

export interface PollObserver {
  /** A poll began (one skipped for the operating limit too: it ends as a failure). */
  pollStarted(): void;
  /** Server time the portal reported for the monitor's commands of `method`. */
  processing(method: string, seconds: number): void;
  pollSucceeded(snapshot: QueueSnapshot, outcome: PollSucceeded): void;
  pollFailed(reason: FailureReason, outcome: PollFinished): void;
  /** The queue's figures are too old to be served: drop them. True when there were any. */
  removeQueueSeries(): boolean;
}

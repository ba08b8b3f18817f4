/**
 * Schedules the polls with node-cron: one cron task per distinct schedule, not per portal
 * (node-cron checks every task every second, and 2,500 callbacks at once each working out the
 * interval were a tick's spike). Portals sharing a schedule are spread over its interval
 * (portal i of n starts i/n of the interval late) so that a thousand portals are not all
 * polled in the same second; a semaphore bounds the polls in flight.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { TOP_DEFAULTS } from '../config/settings.js';
import type { PortalPoller } from './poller.js';
import { Semaphore } from './semaphore.js';

interface ScheduledPortal {
  readonly poller: PortalPoller;
  readonly schedule: string;
}

export interface SchedulerOptions {
  readonly portals: readonly ScheduledPortal[];
  readonly logger: Logger;
  /** @default TOP_DEFAULTS.maxConcurrentPolls */
  readonly maxConcurrentPolls?: number;
  /** Aborts polls in flight on stop. */
  readonly signal: AbortSignal;
}

export interface Scheduler {
  /** Polls every portal now (bounded), e.g. at start-up. */
  pollAll(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * How late portal `index` of `count` sharing one schedule starts after each tick: spread
 * evenly over the interval, so that polls (and the portals' rate budgets) are not all spent
 * in the same second.
 */
export function spreadOffsetMs(index: number, count: number, intervalMs: number): number {
  if (count <= 1 || intervalMs <= 0) return 0;
  return Math.floor((index * intervalMs) / count);
}

/** The interval between two runs of a cron expression, in ms (for spreading start offsets). */
export function cronIntervalMs(task: ScheduledTask): number {
  const [first, second] = task.getNextRuns(2);
  if (first === undefined || second === undefined) return 0;
  return second.getTime() - first.getTime();
}

function cronLogger(logger: Logger) {
  return {
    info: (message: string) => logger.debug({ source: 'node-cron' }, message),
    warn: (message: string) =>
      logger.warn({ source: 'node-cron', detail: message }, 'Scheduler warning'),
    error: (message: string | Error) =>
      logger.error({ source: 'node-cron', err: message }, 'Scheduler error'),
    debug: (message: string | Error) =>
      logger.debug({ source: 'node-cron', detail: String(message) }, 'Scheduler debug'),
  };
}

export function startScheduler(options: SchedulerOptions): Scheduler {
  const { logger, signal } = options;
  const semaphore = new Semaphore(options.maxConcurrentPolls ?? TOP_DEFAULTS.maxConcurrentPolls);
  const tasks: ScheduledTask[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<unknown>>();

  const run = (poller: PortalPoller): Promise<unknown> => {
    if (signal.aborted) return Promise.resolve();
    const promise = semaphore.run(() =>
      signal.aborted ? Promise.resolve(null) : poller.poll(signal),
    );
    inFlight.add(promise);
    // both ways: a `finally` chain would be a second promise whose rejection nobody handles
    const forget = () => inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  };
  /** A poll started by a timer: nobody awaits it, so a rejection is logged here. */
  const runFromTimer = (poller: PortalPoller): void => {
    run(poller).catch((error: unknown) => {
      logger.error({ portal: poller.name, err: error }, 'Poll failed unexpectedly');
    });
  };

  const bySchedule = new Map<string, PortalPoller[]>();
  for (const { poller, schedule } of options.portals) {
    const group = bySchedule.get(schedule) ?? [];
    group.push(poller);
    bySchedule.set(schedule, group);
  }
  /**
   * One tick of a schedule: walks its portals in offset order with one timer at a time, so
   * that a tick costs one cron callback and one timer per poll start, not one of each per
   * portal up front. Each tick has its own walk: a walk that lags (a blocked event loop) does
   * not hold up the next tick's.
   */
  const walk = (pollers: readonly PortalPoller[], intervalMs: number): void => {
    const startedAt = performance.now();
    let next = 0;
    const step = (): void => {
      const elapsed = performance.now() - startedAt;
      while (next < pollers.length && spreadOffsetMs(next, pollers.length, intervalMs) <= elapsed)
        runFromTimer(pollers[next++] as PortalPoller);
      if (next >= pollers.length || signal.aborted) return;
      const wait = spreadOffsetMs(next, pollers.length, intervalMs) - elapsed;
      const timer = setTimeout(() => {
        timers.delete(timer);
        step();
      }, wait);
      timers.add(timer);
    };
    step();
  };

  for (const [schedule, pollers] of bySchedule) {
    const task = cron.createTask(
      schedule,
      // the interval is read once per tick (getNextRuns parses the expression's next runs)
      () => walk(pollers, cronIntervalMs(task)),
      { name: `poll:${schedule}`, logger: cronLogger(logger), suppressMissedWarning: true },
    );
    tasks.push(task);
    // node-cron's start() may answer a promise
    Promise.resolve(task.start()).catch((error: unknown) => {
      logger.error({ source: 'node-cron', err: error }, 'Scheduler error');
    });
  }

  return {
    async pollAll() {
      await Promise.all(options.portals.map(({ poller }) => run(poller)));
    },
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all(tasks.map((task) => task.destroy()));
      await Promise.allSettled([...inFlight]);
    },
  };
}

/**
 * Entry of a measured child process: `node --import tsx bench/child.ts '<job as JSON>'`.
 * Answers over IPC; exits when its job is done.
 */
import type { ChildJob, ChildMessage } from './protocol.js';

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.send === undefined) {
      reject(new Error('bench/child.ts runs as a child of bench/main.ts (no IPC channel)'));
      return;
    }
    process.send(message, (error: Error | null) => (error === null ? resolve() : reject(error)));
  });
}

async function run(job: ChildJob): Promise<void> {
  switch (job.kind) {
    case 'poll': {
      const { runPollJob } = await import('./pollChild.js');
      return send(await runPollJob(job, send));
    }
    case 'sdk': {
      const { runSdkJob } = await import('./sdkChild.js');
      return send(await runSdkJob(job));
    }
    case 'scrape': {
      const { runScrapeJob } = await import('./scrapeChild.js');
      return send(await runScrapeJob(job));
    }
    case 'fleet': {
      const { runFleetJob } = await import('./fleetChild.js');
      return runFleetJob(job, send);
    }
  }
}

const job = JSON.parse(process.argv[2] ?? '{}') as ChildJob;
run(job).then(
  () => process.disconnect?.(),
  async (error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    await send({ kind: 'error', message }).catch(() => undefined);
    process.exitCode = 1;
    process.disconnect?.();
  },
);

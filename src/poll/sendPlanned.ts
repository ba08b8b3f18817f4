/** Sending planned commands in one request, and the server time their answers report. */
import type { BatchCommand, CallAnswer } from '../b24/types.js';
import type { Planned } from './headline.js';
import { callOptions, type ScanInput } from './offlineList.js';
import { runCommands } from './runBatch.js';

/** The commands of one planned request, sent as one `batch`; the answers by key. */
export async function sendPlanned(
  input: ScanInput,
  planned: readonly Planned[],
): Promise<Record<string, CallAnswer>> {
  const commands: Record<string, BatchCommand> = {};
  for (const p of planned) commands[p.key] = p.command;
  return runCommands(input.client, commands, callOptions(input));
}

/** Processing seconds the portal reported for these answers (what the budget pays). */
export function processingOf(answers: Readonly<Record<string, CallAnswer>>): number {
  let sum = 0;
  for (const key of Object.keys(answers)) {
    const value = answers[key]?.time?.processing;
    if (typeof value === 'number' && value > 0) sum += value;
  }
  return sum;
}

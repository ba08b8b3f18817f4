/**
 * The read-only guarantee, enforced in code before any I/O. `event.offline.get` is the trap:
 * even with `clear=0` it reserves rows (sets PROCESS_ID), so a "read" with it would change the
 * queue it watches. Names are matched exactly — no trimming, no case folding, no `.json`
 * suffix — because the portal is more lenient than this check and every leniency here would
 * be a way around it.
 */
import { BatchLengthError, ForbiddenMethodError } from './errors.js';
import { type BatchableMethod, type ReadOnlyMethod, READ_ONLY_METHODS } from './types.js';

/** Methods a batch command may call. */
const BATCHABLE_METHODS = [
  'event.offline.list',
  'event.get',
  'feature.get',
] as const satisfies readonly BatchableMethod[];

/** Commands one `batch` request may hold. */
export const MAX_BATCH_COMMANDS = 50;

const CALLABLE: ReadonlySet<string> = new Set(READ_ONLY_METHODS);
const BATCHABLE: ReadonlySet<string> = new Set(BATCHABLE_METHODS);

export function assertCallable(method: unknown): asserts method is ReadOnlyMethod {
  if (typeof method !== 'string' || !CALLABLE.has(method)) {
    throw new ForbiddenMethodError(String(method));
  }
}

export function assertBatchable(method: unknown): asserts method is BatchableMethod {
  if (typeof method !== 'string' || !BATCHABLE.has(method)) {
    throw new ForbiddenMethodError(String(method));
  }
}

export function assertBatchLength(length: number): void {
  if (length > MAX_BATCH_COMMANDS) throw new BatchLengthError(length, MAX_BATCH_COMMANDS);
}

/**
 * Checks the raw `cmd` of `call('batch', params)`: each command is a `"method?query"` string
 * whose method part (up to the first `?`, as the portal splits it) is batchable.
 */
export function assertRawBatchParams(params: Readonly<Record<string, unknown>>): void {
  const cmd: unknown = params['cmd'];
  if (typeof cmd !== 'object' || cmd === null) throw new ForbiddenMethodError('batch without cmd');
  const commands: unknown[] = Object.values(cmd);
  assertBatchLength(commands.length);
  for (const command of commands) {
    if (typeof command !== 'string')
      throw new ForbiddenMethodError(`batch command ${typeof command}`);
    const end = command.indexOf('?');
    assertBatchable(end === -1 ? command : command.slice(0, end));
  }
}

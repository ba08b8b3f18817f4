/**
 * zod schemas of the portal's answers, validated at the edge where data enters. Only the
 * fields the monitor uses are checked; the rest passes through.
 */
import { z } from 'zod';

const num = z.union([
  z.number(),
  z
    .string()
    .regex(/^-?\d+(\.\d+)?$/)
    .transform(Number),
]);

export const ApiTime = z
  .object({
    start: num.optional(),
    finish: num.optional(),
    duration: num.optional(),
    processing: num.optional(),
    operating: num.optional(),
    operating_reset_at: num.optional(),
  })
  .loose();
export type ApiTime = z.infer<typeof ApiTime>;

/** One queue row of `event.offline.list`. `ERROR` arrives as "0"/"1" (sometimes a number). */
export const OfflineRow = z
  .object({
    ID: z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(Number),
    TIMESTAMP_X: z.string().min(1),
    EVENT_NAME: z.string().min(1),
    PROCESS_ID: z.union([z.string(), z.null()]).transform((v) => v ?? ''),
    ERROR: z.union([z.literal('0'), z.literal('1'), z.literal(0), z.literal(1)]).transform(Number),
  })
  .loose();
export type OfflineRow = z.infer<typeof OfflineRow>;

export const OfflineListResult = z.array(OfflineRow);

/** The envelope of a successful answer: `{result, total?, next?, time?}`; `result` must be there. */
export const RestAnswer = z
  .object({
    result: z.unknown(),
    total: num.optional(),
    next: num.optional(),
    time: ApiTime.optional(),
  })
  .loose();
export type RestAnswer = z.infer<typeof RestAnswer>;

/**
 * A map keyed by batch command name. PHP sends an empty one as `[]`, and one whose keys are
 * 0, 1, 2... (numeric command names) as a list: both become records.
 */
function keyed<T extends z.ZodType>(item: T) {
  return z.union([
    z.record(z.string(), item),
    z.array(item).transform((list) => Object.fromEntries(list.map((v, i) => [String(i), v]))),
  ]);
}

/** Like `keyed`, absent meaning empty (PHP leaves out some maps when nothing is in them). */
function byCommand<T extends z.ZodType>(item: T) {
  return keyed(item)
    .optional()
    .transform((map): Record<string, z.output<T>> => map ?? {});
}

export const BatchCommandError = z
  .object({
    error: z.union([z.string(), z.number()]).transform(String),
    error_description: z.string().optional().catch(undefined),
  })
  .loose();
export type BatchCommandError = z.infer<typeof BatchCommandError>;

/** `result` of a `batch` answer. */
export const BatchResult = z
  .object({
    result: keyed(z.unknown()),
    result_error: byCommand(BatchCommandError),
    result_total: byCommand(num),
    result_next: byCommand(num),
    result_time: byCommand(ApiTime),
  })
  .loose();
export type BatchResult = z.infer<typeof BatchResult>;

/** The envelope of a `batch` answer. */
export const BatchEnvelope = z
  .object({
    result: BatchResult,
    time: ApiTime.optional(),
  })
  .loose();
export type BatchEnvelope = z.infer<typeof BatchEnvelope>;

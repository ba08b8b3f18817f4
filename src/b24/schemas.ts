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

/**
 * `total`: a safe non-negative integer. A larger value (1e30, 2^53 + 1) is no count of rows
 * and would be exported rounded.
 */
const count = z.union([
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  z
    .string()
    .regex(/^\d{1,16}$/)
    .transform(Number)
    .refine((n) => Number.isSafeInteger(n), 'expected a safe integer'),
]);

/**
 * A page and its `total` agree: `total` counts every row matching the filter, this page's
 * included, so it is never below the rows on the page (0 with rows is a broken answer).
 */
function pageFits(result: unknown, total: number | undefined): boolean {
  return total === undefined || !Array.isArray(result) || total >= result.length;
}

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
    total: count.optional(),
    next: num.optional(),
    time: ApiTime.optional(),
  })
  .loose()
  .refine((answer) => pageFits(answer.result, answer.total), {
    message: 'total is smaller than the rows on the page',
    path: ['total'],
  });
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

const BatchCommandError = z
  .object({
    error: z.union([z.string(), z.number()]).transform(String),
    error_description: z.string().optional().catch(undefined),
  })
  .loose();
type BatchCommandError = z.infer<typeof BatchCommandError>;

/** `result` of a `batch` answer. */
const BatchResult = z
  .object({
    result: keyed(z.unknown()),
    result_error: byCommand(BatchCommandError),
    result_total: byCommand(count),
    result_next: byCommand(num),
    result_time: byCommand(ApiTime),
  })
  .loose()
  .superRefine((batch, ctx) => {
    for (const [name, total] of Object.entries(batch.result_total)) {
      if (!pageFits(batch.result[name], total)) {
        ctx.addIssue({
          code: 'custom',
          message: 'total is smaller than the rows on the page',
          path: ['result_total', name],
        });
      }
    }
  });
type BatchResult = z.infer<typeof BatchResult>;

/** The envelope of a `batch` answer. */
export const BatchEnvelope = z
  .object({
    result: BatchResult,
    time: ApiTime.optional(),
  })
  .loose();
export type BatchEnvelope = z.infer<typeof BatchEnvelope>;

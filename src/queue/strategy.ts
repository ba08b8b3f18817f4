/**
 * How a poll reads the queue: `scan` pages through every row (a request per 50 rows), `count`
 * asks for totals of filtered lists in one batch, whatever the depth.
 */
export const STRATEGIES = ['scan', 'count'] as const;
export type Strategy = (typeof STRATEGIES)[number];

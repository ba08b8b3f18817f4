/**
 * What a `/metrics` request asks for, from its headers. Self-contained (no imports, no
 * closures) because the metrics worker runs these functions from their source text
 * (metricsWorker.ts): both threads read a request the same way.
 */

/** `Accept` names OpenMetrics. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return (accept ?? '').includes('application/openmetrics-text');
}

/** `Accept-Encoding` names gzip without refusing it (`gzip;q=0`). */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== 'x-gzip') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/**
 * Which client scraped, as ExpositionCache plans its renders from each one's own period: its
 * address and User-Agent (a Prometheus HA pair is two addresses; a curl has its own agent).
 * Kept in memory only to plan renders, never logged or exported.
 */
export function scraperOf(address: string | undefined, userAgent: string | undefined): string {
  return `${address ?? ''} ${userAgent ?? ''}`;
}

/** Plain-text formatting of the bench's figures: aligned markdown tables, durations, ratios. */

export type Align = 'left' | 'right';

/** A markdown table whose columns line up in a terminal too. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const widths = headers.map((header, i) =>
    Math.max([...header].length, ...rows.map((row) => [...(row[i] ?? '')].length)),
  );
  const pad = (text: string, i: number): string => {
    const gap = ' '.repeat(Math.max(0, (widths[i] ?? 0) - [...text].length));
    return align[i] === 'right' ? gap + text : text + gap;
  };
  const line = (cells: readonly string[]) =>
    `| ${headers.map((_, i) => pad(cells[i] ?? '', i)).join(' | ')} |`;
  const rule = `|${widths
    .map((width, i) => (align[i] === 'right' ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2)))
    .join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (value < 10) return `${value.toFixed(1)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  return seconds(value / 1000);
}

export function seconds(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 120) return `${value.toFixed(value < 10 ? 2 : 1)} s`;
  if (value < 7200) return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
  return `${Math.floor(value / 3600)} h ${Math.round((value % 3600) / 60)} min`;
}

export function int(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function mbText(value: number): string {
  return `${value.toFixed(1)} MB`;
}

/** ours / theirs, e.g. `0.001 (1,000× fewer)` or `0.85`. */
export function ratio(ours: number, theirs: number, fewerWord = 'fewer'): string {
  if (theirs === 0 || !Number.isFinite(ours) || !Number.isFinite(theirs)) return '—';
  const r = ours / theirs;
  const text = r < 0.01 ? r.toPrecision(2) : r.toFixed(2);
  return r < 0.5 ? `${text} (${int(theirs / ours)}× ${fewerWord})` : text;
}

export function check(ok: boolean): string {
  return ok ? '✓' : '✗';
}

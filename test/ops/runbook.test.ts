/**
 * docs/runbook.md and the `runbook_url` of every alert: each alert links to a section that
 * exists (GitHub's heading anchors), every poll-failure reason has a section, each section
 * says what it means, how to confirm it, what to do first and when it resolves, and every
 * PromQL query in it parses (promtool) and selects only the monitor's metrics.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { FAILURE_REASONS } from '../../src/b24/errors.js';
import { MONITOR_METRICS, metricNames } from './promql.js';
import { REPO_ROOT, loadRules } from './queries.js';
import { PROMTOOL, needTool, run } from './tools.js';

const RUNBOOK = 'docs/runbook.md';
/** The reasons of `b24_offline_poll_failures_total` in docs/contract.md. */
const CONTRACT_REASONS = [
  'auth',
  'forbidden',
  'license',
  'payment',
  'rate_limit',
  'operating_limit',
  'timeout',
  'network',
  'api_error',
  'bad_response',
];
const PARTS = ['What it means.', 'Confirm.', 'What to do first.', 'When it resolves.'];

/**
 * GitHub's heading anchor: lower case, every character that is not a letter, a mark, a
 * digit, a connector (`_`), a space or a hyphen dropped, spaces turned into hyphens; a
 * repeated slug gets `-1`, `-2`, ... (github-slugger, which GitHub's renderer follows).
 */
export function githubSlug(heading: string, seen: Map<string, number> = new Map()): string {
  const base = heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
  const count = seen.get(base) ?? 0;
  seen.set(base, count + 1);
  return count === 0 ? base : `${base}-${count}`;
}

interface Section {
  readonly heading: string;
  readonly anchor: string;
  readonly body: string;
}

/** Headings (outside code fences) with their anchors and the text up to the next heading. */
function sections(markdown: string): Section[] {
  const seen = new Map<string, number>();
  const found: Section[] = [];
  let fenced = false;
  let current: { heading: string; anchor: string; lines: string[] } | null = null;
  const close = (): void => {
    if (current !== null) found.push({ ...current, body: current.lines.join('\n') });
  };
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading !== null) {
      close();
      // Backticks and asterisks of inline markup are dropped by the slug like any punctuation.
      const text = heading[1] ?? '';
      current = { heading: text, anchor: githubSlug(text, seen), lines: [] };
    } else {
      current?.lines.push(line);
    }
  }
  close();
  return found;
}

const markdown = readFileSync(join(REPO_ROOT, RUNBOOK), 'utf8');
const all = sections(markdown);
const byAnchor = new Map(all.map((s) => [s.anchor, s]));
const alerts = loadRules()
  .flatMap((f) => f.groups.flatMap((g) => g.rules))
  .filter((r) => r.alert !== undefined);
const queries = [...markdown.matchAll(/```promql\n([\s\S]*?)```/g)].map((m) => (m[1] ?? '').trim());

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('GitHub heading anchors', () => {
  it.each([
    ['B24OfflineErrorBacklog', 'b24offlineerrorbacklog'],
    ['Poll failure: rate_limit', 'poll-failure-rate_limit'],
    ["What's new? (2026)", 'whats-new-2026'],
    ['Ünïcode — dash', 'ünïcode--dash'],
  ])('%s → #%s', (heading, anchor) => {
    expect(githubSlug(heading)).toBe(anchor);
  });

  it('a repeated heading gets -1, -2', () => {
    const seen = new Map<string, number>();

    expect(['Confirm', 'Confirm', 'Confirm'].map((h) => githubSlug(h, seen))).toEqual([
      'confirm',
      'confirm-1',
      'confirm-2',
    ]);
  });
});

describe('runbook', () => {
  it('has alerts to link', () => {
    expect(alerts.length).toBeGreaterThan(0);
  });

  it.each(alerts.map((a) => [a.alert!, a] as const))(
    '%s has a runbook_url to a section of docs/runbook.md that exists',
    (name, alert) => {
      const url = alert.annotations?.['runbook_url'] ?? '';
      const [path, anchor = ''] = url.split('#');

      expect(url, `${name} has no runbook_url`).not.toBe('');
      expect(path).toBe(RUNBOOK);
      expect([...byAnchor.keys()]).toContain(anchor);
      expect(byAnchor.get(anchor)?.heading).toBe(name);
    },
  );

  it.each([...new Set<string>([...CONTRACT_REASONS, ...FAILURE_REASONS])])(
    'poll-failure reason %s has a section',
    (reason) => {
      expect([...byAnchor.keys()]).toContain(`poll-failure-${reason}`);
    },
  );

  it.each(
    all
      .filter((s) => s.anchor.startsWith('poll-failure-') || /^B24Offline\w+$/.test(s.heading))
      .map((s) => [s.heading, s] as const),
  )('%s says what it means, how to confirm, what to do first, when it resolves', (_h, s) => {
    for (const part of PARTS) expect(s.body, part).toContain(`**${part}**`);
    // Confirming means something to run or look for: a query, a log line, a once --json run.
    expect(s.body).toMatch(/```promql|"msg":|`once --json`|once --json/);
  });

  it('every link inside the runbook points to a heading that exists', () => {
    const links = [...markdown.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] ?? '');

    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !byAnchor.has(l))).toEqual([]);
  });

  it('every PromQL query selects only metrics the monitor exports (or up)', () => {
    expect(queries.length).toBeGreaterThan(10);
    const unknown = queries.flatMap((q) =>
      metricNames(q).filter((n) => !MONITOR_METRICS.has(n) && n !== 'up'),
    );

    expect(unknown).toEqual([]);
  });

  it('every PromQL query parses (promtool check rules)', (ctx) => {
    const promtool = needTool(ctx, PROMTOOL);
    const dir = mkdtempSync(join(tmpdir(), 'b24-runbook-'));
    tempDirs.push(dir);
    const file = join(dir, 'runbook-queries.rules.yml');
    writeFileSync(
      file,
      stringifyYaml({
        groups: [
          {
            name: 'runbook',
            rules: queries.map((expr, i) => ({ record: `runbook:query_${i}`, expr })),
          },
        ],
      }),
    );

    const result = run(promtool, ['check', 'rules', file]);

    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain(`SUCCESS: ${queries.length} rules found`);
  });
});

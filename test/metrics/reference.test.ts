/**
 * The README's metrics reference against the real exposition: a monitor on the simulated
 * portal is driven through a good poll, a token refresh and a failed one (so that every
 * metric has samples), scraped, and its metric names, types and label sets compared with
 * the README's table; the README's sample of /metrics must be lines of that exposition.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { parsePromText, type Sample } from '../helpers/promText.js';

const README = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

interface Documented {
  readonly type: string;
  readonly labels: string[];
}

function referenceSection(): string {
  const start = README.indexOf('### Metrics reference');
  if (start < 0) throw new Error('README has no "### Metrics reference" section');
  const next = README.slice(start + 1).search(/\n#{2,3} /);
  return next < 0 ? README.slice(start) : README.slice(start, start + 1 + next);
}

/** The table's rows: `metric` | type | labels | meaning. */
function documentedMetrics(section: string): Map<string, Documented> {
  const rows = new Map<string, Documented>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`(b24_\w+)`$/.exec(cells[1] ?? '')?.[1];
    if (name === undefined) continue;
    if (rows.has(name)) throw new Error(`${name} is listed twice`);
    const labels = (cells[3] ?? '')
      .split(',')
      .map((l) => l.trim())
      .filter((l) => l !== '' && l !== '—');
    rows.set(name, { type: cells[2] ?? '', labels: labels.sort() });
  }
  return rows;
}

/** `# TYPE` of each metric of a text exposition. */
function typesOf(exposition: string): Map<string, string> {
  return new Map(
    [...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
  );
}

/** The label names of each metric's samples; throws when samples of one metric differ. */
function labelsOf(samples: readonly Sample[]): Map<string, string[]> {
  const labels = new Map<string, string[]>();
  for (const sample of samples) {
    const keys = Object.keys(sample.labels).sort();
    const seen = labels.get(sample.name);
    if (seen !== undefined && seen.join() !== keys.join())
      throw new Error(`${sample.name}: samples with labels ${seen} and ${keys}`);
    labels.set(sample.name, keys);
  }
  return labels;
}

const section = referenceSection();
const documented = documentedMetrics(section);
const readmeSample = /```text\n([\s\S]*?)```/.exec(section)?.[1] ?? '';

let harness: Harness;
let exposition = '';
beforeAll(async () => {
  harness = await startHarness({
    refreshOnly: true,
    portal: { events: ['ONCRMLEADADD', 'ONCRMDEALUPDATE'] },
  });
  const now = Date.now();
  harness.portal.fill({
    counts: {
      ONCRMLEADADD: { queued: 12, reserved: 3, error: 2 },
      ONCRMDEALUPDATE: { queued: 4 },
    },
    newestMs: now - 30_000,
    oldestMs: now - 2 * 3600_000,
  });
  await harness.monitor.pollOnce(); // refreshes first: only a refresh token was given
  harness.portal.revokeRefreshTokens('monitor');
  harness.portal.expireAccessTokens('monitor');
  await harness.monitor.pollOnce(); // expired_token, then a refused refresh: reason auth
  exposition = await (await fetch(`${harness.server!.url}/metrics`)).text();
}, 60_000);

afterAll(async () => {
  await harness?.close();
});

describe('README metrics reference', () => {
  it('lists every metric of the exposition, and only those', () => {
    expect([...documented.keys()].sort()).toEqual([...typesOf(exposition).keys()].sort());
  });

  it('gives each metric the type of the exposition', () => {
    const types = typesOf(exposition);

    for (const [name, doc] of documented) expect(doc.type, name).toBe(types.get(name));
  });

  it('gives each metric the labels of its samples', () => {
    const labels = labelsOf(parsePromText(exposition));

    // Every metric has samples in this scenario, so every label set is checked.
    expect([...labels.keys()].sort()).toEqual([...documented.keys()].sort());
    for (const [name, doc] of documented) expect(doc.labels, name).toEqual(labels.get(name));
  });

  it("has a sample of /metrics whose HELP and TYPE lines are the exposition's", () => {
    const lines = readmeSample.split('\n').filter((l) => l.startsWith('# '));
    const real = new Set(exposition.split('\n'));

    expect(lines.length).toBeGreaterThan(10);
    expect(lines.filter((l) => !real.has(l))).toEqual([]);
  });

  it('has a sample whose series are documented, with the documented labels', () => {
    const samples = parsePromText(readmeSample);

    expect(samples.length).toBeGreaterThan(10);
    for (const sample of samples) {
      expect(documented.get(sample.name)?.labels, sample.name).toEqual(
        Object.keys(sample.labels).sort(),
      );
    }
  });
});

describe('docs/contract.md metrics', () => {
  const contract = readFileSync(
    join(import.meta.dirname, '..', '..', 'docs', 'contract.md'),
    'utf8',
  );
  const start = contract.indexOf('## Metrics');
  const end = contract.indexOf('\n## ', start + 1);
  const metricsSection = contract.slice(start, end < 0 ? undefined : end);
  const fixed = documentedMetrics(metricsSection);
  const beyond = metricsSection.slice(metricsSection.indexOf('Exported beyond'));

  it('names each metric of the exposition, with its type and labels', () => {
    const types = typesOf(exposition);
    const labels = labelsOf(parsePromText(exposition));
    const unnamed = [...types.keys()].filter((n) => !fixed.has(n) && !beyond.includes(`\`${n}\``));

    expect(fixed.size).toBeGreaterThan(10);
    expect(unnamed).toEqual([]);
    for (const [name, doc] of fixed) {
      expect(doc.type, name).toBe(types.get(name));
      expect(doc.labels, name).toEqual(labels.get(name));
    }
  });
});

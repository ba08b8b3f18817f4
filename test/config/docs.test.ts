/**
 * The README's settings table and the `# env:` comments of config/monitor.example.yaml against
 * the one declaration of the settings (src/config/settings.ts): regenerated in memory, they
 * must equal the committed files (`npm run generate:config-docs` writes them).
 */
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import {
  EXAMPLE_FILE,
  README_FILE,
  renderExample,
  renderReadme,
} from '../../scripts/generate-config-docs.js';
import { ENV_VARIABLES, PORTAL_SPECS, TOP_SPECS } from '../../src/config/settings.js';

const DRIFT = 'out of date: run npm run generate:config-docs';

describe('the settings documentation', () => {
  it('README: the settings table is the declaration, one row per setting', async () => {
    const readme = readFileSync(README_FILE, 'utf8');

    expect(await renderReadme(readme), DRIFT).toBe(readme);
    const rows = readme.split('\n').filter((line) => /^\| `[A-Z0-9_]+`/.test(line));
    expect(rows).toHaveLength(1 + PORTAL_SPECS.length + TOP_SPECS.length);
    for (const variable of ENV_VARIABLES) expect(readme).toContain(`\`${variable}\``);
  });

  it('the example file: one `# env:` comment per setting, with the declared default', () => {
    const example = readFileSync(EXAMPLE_FILE, 'utf8');

    expect(renderExample(example), DRIFT).toBe(example);
    for (const spec of [...PORTAL_SPECS, ...TOP_SPECS]) {
      const lines = example.split('\n').filter((line) => line.includes(`# env: ${spec.env} `));
      expect(lines, spec.env).toHaveLength(1);
      if (spec.default !== undefined)
        expect(lines[0]).toMatch(
          new RegExp(` default: ${String(spec.default).replace(/[*.]/g, '\\$&')}$`),
        );
    }
  });
});

/**
 * Writes the README's settings table and the `# env: ... default: ...` comments of
 * config/monitor.example.yaml from the one declaration of the settings (src/config/settings.ts);
 * test/config/docs.test.ts fails when the committed files drift from it.
 *
 *   npm run generate:config-docs
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

import type { SettingSpec } from '../src/config/settings.js';
import { CONFIG_VARIABLE, PORTAL_SPECS, TOP_SPECS, viaFile } from '../src/config/settings.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const README_FILE = join(ROOT, 'README.md');
export const EXAMPLE_FILE = join(ROOT, 'config/monitor.example.yaml');

const START = '<!-- settings table: npm run generate:config-docs -->';
const END = '<!-- end of settings table -->';

const SPECS = [...PORTAL_SPECS, ...TOP_SPECS];
const code = (text: string | number): string => `\`${text}\``;
const variables = (spec: SettingSpec): string[] =>
  viaFile(spec) ? [spec.env, `${spec.env}_FILE`] : [spec.env];

function where(spec: SettingSpec): string {
  if (TOP_SPECS.includes(spec)) return '';
  return spec.own === true ? ' (portal)' : ' (portal, defaults)';
}

/** The README with its settings table rendered from the declaration, formatted as prettier wants it. */
export async function renderReadme(readme: string): Promise<string> {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no "${START}" ... "${END}" block`);
  const rows = [
    ['variable', 'key in the file', 'meaning', 'default'],
    ['---', '---', '---', '---'],
    [code(CONFIG_VARIABLE.env), '', CONFIG_VARIABLE.help, CONFIG_VARIABLE.shown],
    ...SPECS.map((spec) => [
      variables(spec).map(code).join(', '),
      `${code(spec.key)}${where(spec)}`,
      spec.help,
      spec.default === undefined ? (spec.shown ?? 'none') : code(spec.default),
    ]),
  ];
  const table = rows.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
  const text = `${readme.slice(0, start + START.length)}\n\n${table}\n\n${readme.slice(end)}`;
  return prettier.format(text, {
    ...(await prettier.resolveConfig(README_FILE)),
    filepath: README_FILE,
  });
}

/** Where an `# env:` comment ends, the default right-aligned, when it fits. */
const LINE_END = 96;

/** The example file with each `# env: ...` comment rendered from the declaration. */
export function renderExample(example: string): string {
  return example.replace(/^( *)# env: ([A-Z0-9_]+)\b.*$/gm, (line, indent: string, env: string) => {
    const spec = SPECS.find((candidate) => candidate.env === env);
    if (spec === undefined) return line;
    const shown = String(spec.default ?? spec.shown ?? 'none').replaceAll('`', '');
    const head = `${indent}# env: ${variables(spec).join(' or ')}`;
    const tail = shown.startsWith('required') ? shown : `default: ${shown}`;
    return `${head.padEnd(Math.max(LINE_END - tail.length, head.length + 2))}${tail}`;
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(README_FILE, await renderReadme(readFileSync(README_FILE, 'utf8')));
  writeFileSync(EXAMPLE_FILE, renderExample(readFileSync(EXAMPLE_FILE, 'utf8')));
}

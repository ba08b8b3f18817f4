/**
 * The running build's version, from the package's package.json: one level above src/ and dist/,
 * further up for a bundle kept elsewhere in the package (the tests' bundle of the CLI lives in
 * node_modules/.cache/), so the nearest package.json that names this package is the one.
 */
import { readFileSync } from 'node:fs';

const NAME = 'b24-offline-monitor';

function readVersion(): string {
  for (let up = '../../'; up.length <= 5 * 3; up += '../') {
    try {
      const pkg = JSON.parse(
        readFileSync(new URL(`${up}package.json`, import.meta.url), 'utf8'),
      ) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === NAME) return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
    } catch {
      // no (readable) package.json at this level: look one level up
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();

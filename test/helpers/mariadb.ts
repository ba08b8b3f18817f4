/**
 * MariaDB for the SQL-backed portal's tests: a private server started once per file (about
 * 3 s). Where `mariadbd` is missing the block is skipped saying why, except in CI (`CI` set),
 * where `.ci/run` installs it and its absence is a failure.
 */
import { describe, it } from 'vitest';
import { findMariaDb } from '../../src/sim/sql/index.js';

const INSTALL = 'apt-get install mariadb-server';

/** `describe` when MariaDB is installed; otherwise one test that skips (or fails in CI). */
export function describeWithMariaDb(name: string, body: () => void): void {
  if (findMariaDb() !== null) {
    describe(name, body);
    return;
  }
  describe(name, () => {
    it('needs MariaDB', (ctx) => {
      const missing = `mariadbd / mariadb-install-db not found (install: ${INSTALL})`;
      if (process.env['CI']) throw new Error(`${missing}; it is required in CI`);
      ctx.skip(`${missing}; skipped (CI=true makes this a failure)`);
    });
  });
}

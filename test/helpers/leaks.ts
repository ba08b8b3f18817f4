/** The leak scan: no secret handed out in this test file appears in any captured log line. */
import { afterAll, expect } from 'vitest';
import { issuedSecrets } from './harness.js';
import { allLogLines } from './logs.js';

export function scanLogsForSecretsAfterAll(): void {
  afterAll(() => {
    const leaks: string[] = [];
    for (const line of allLogLines) {
      for (const secret of issuedSecrets) {
        if (line.includes(secret)) leaks.push(`${secret.slice(0, 4)}… in ${line.slice(0, 200)}`);
      }
    }
    expect(issuedSecrets.size).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });
}

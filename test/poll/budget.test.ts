/**
 * The database budget: when a breakdown runs, as a pure function of the clock, the estimate
 * and what was spent.
 */
import { describe, expect, it } from 'vitest';
import { DatabaseBudget } from '../../src/poll/budget.js';

const S = 1000;

describe('DatabaseBudget', () => {
  it('runs the first breakdown, then only when the credit covers it or it would pass 5 minutes', () => {
    const budget = new DatabaseBudget({ share: 0.05 });
    const decisions: string[] = [];
    let last: number | null = null;
    for (let t = 0; t <= 600 * S; t += 30 * S) {
      budget.tick(t);
      budget.spend(t, 0.9); // a headline
      const decision = budget.decide(t, last, 6, false);
      if (decision.run) {
        budget.spend(t, 6);
        last = t;
        decisions.push(`${t / S}:${decision.why}`);
      }
    }

    // 1.5 s of credit a poll, 0.9 s spent on the headline: 6 s take 10 polls, 5 minutes come
    // first; the refresh runs at the last poll whose answer lands before they are 5 minutes old
    expect(decisions).toEqual(['0:first', '270:max_age', '540:max_age']);
  });

  it('forces a refresh a poll earlier when it takes two polls', () => {
    const budget = new DatabaseBudget({ share: 0 });
    budget.tick(0);
    budget.tick(30 * S);
    budget.tick(240 * S);
    budget.tick(270 * S);

    expect(budget.decide(240 * S, 0, 1, false).run).toBe(false);
    expect(budget.decide(240 * S, 0, 1, false, 2)).toEqual({ run: true, why: 'max_age' });
    expect(budget.decide(270 * S, 0, 1, false)).toEqual({ run: true, why: 'max_age' });
  });

  it('pays for a breakdown from credit when the headline leaves room', () => {
    const budget = new DatabaseBudget({ share: 0.05 });
    budget.tick(0);
    expect(budget.decide(0, null, 1, false)).toEqual({ run: true, why: 'first' });
    budget.tick(30 * S);

    expect(budget.decide(30 * S, 0, 1, false)).toEqual({ run: true, why: 'budget' });
    expect(budget.decide(30 * S, 0, 2, false)).toEqual({ run: false, why: 'budget' });
  });

  it('never lets the monitor take more than half the operating time of 10 minutes', () => {
    const budget = new DatabaseBudget({ share: 1 });
    budget.tick(0);
    budget.spend(0, 200);

    expect(budget.decide(0, null, 50, true)).toEqual({ run: false, why: 'operating_guard' });
    budget.tick(601 * S);
    expect(budget.decide(601 * S, null, 50, true)).toEqual({ run: true, why: 'always' });
  });
});

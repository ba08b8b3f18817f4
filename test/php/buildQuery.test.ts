import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildQuery, phpUrlencode } from '../../src/php/buildQuery.js';

/** PHP's parse_str, as far as the portal uses it: split at `&`, then at the first `=`, then decode. */
function parseStr(query: string): [string, string][] {
  if (query === '') return [];
  return query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
  });
}

describe('buildQuery', () => {
  it.each([
    [{ filter: { '>ID': 10 }, order: { ID: 'ASC' } }, 'filter%5B%3EID%5D=10&order%5BID%5D=ASC'],
    [{ filter: { '=ERROR': 1 } }, 'filter%5B%3DERROR%5D=1'],
    [
      { filter: { '<TIMESTAMP_X': '2024-07-18T12:32:31+02:00' } },
      'filter%5B%3CTIMESTAMP_X%5D=2024-07-18T12%3A32%3A31%2B02%3A00',
    ],
    [{ filter: { '>=ID': 5, '<=ID': 9 } }, 'filter%5B%3E%3DID%5D=5&filter%5B%3C%3DID%5D=9'],
    [{ filter: { '@ID': [1, 2] } }, 'filter%5B%40ID%5D%5B0%5D=1&filter%5B%40ID%5D%5B1%5D=2'],
    [{ filter: { '%EVENT_NAME': 'LEAD' } }, 'filter%5B%25EVENT_NAME%5D=LEAD'],
    [{ filter: { '=PROCESS_ID': '' } }, 'filter%5B%3DPROCESS_ID%5D='],
    [{ start: -1 }, 'start=-1'],
    [{ a: true, b: false }, 'a=1&b=0'],
    [{ a: null, b: undefined, c: 'x' }, 'c=x'],
    [{ a: [], b: {}, c: 1 }, 'c=1'],
    [{ q: 'a b&c=d' }, 'q=a+b%26c%3Dd'],
    [{ q: "!'()*~-_." }, 'q=%21%27%28%29%2A%7E-_.'],
    [{ q: 'Ünïcode' }, 'q=%C3%9Cn%C3%AFcode'],
    [{ deep: { a: { b: [{ c: 1 }] } } }, 'deep%5Ba%5D%5Bb%5D%5B0%5D%5Bc%5D=1'],
    [{ CODE: 'rest_offline_extended' }, 'CODE=rest_offline_extended'],
    [{}, ''],
  ])('encodes %j as %s', (params, expected) => {
    const query = buildQuery(params);

    expect(query).toBe(expected);
  });

  it('never leaves a raw `=`, `&`, `[` or `]` in a key, so the portal keeps every filter', () => {
    const keyChars = fc.constantFrom(
      '=',
      '>',
      '<',
      '@',
      '%',
      '!',
      '[',
      ']',
      '&',
      '?',
      ' ',
      '+',
      'I',
      'D',
      'é',
    );
    const key = fc.array(keyChars, { minLength: 1, maxLength: 6 }).map((a) => a.join(''));
    const value = fc.oneof(fc.string(), fc.integer(), fc.boolean());

    fc.assert(
      fc.property(fc.dictionary(key, value, { minKeys: 1 }), (filter) => {
        const query = buildQuery({ filter });

        const pairs = query.split('&');
        expect(pairs).toHaveLength(Object.keys(filter).length);
        for (const pair of pairs) expect(pair.split('=')).toHaveLength(2);
        const expected = Object.entries(filter).map(([k, v]) => [
          `filter[${k}]`,
          typeof v === 'boolean' ? (v ? '1' : '0') : String(v),
        ]);
        expect(parseStr(query)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('replaces a lone surrogate instead of throwing', () => {
    const encoded = phpUrlencode('a\uD800b');

    expect(encoded).toBe('a%EF%BF%BDb');
  });
});

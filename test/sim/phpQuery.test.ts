import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildQuery } from '../../src/php/buildQuery.js';
import { batchCommand, parseBatchCommand, parseStr, phpArrayJson } from '../../src/sim/index.js';

function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

describe('parseStr (PHP parse_str)', () => {
  it.each([
    ['a=1&b=2', { a: '1', b: '2' }],
    ['filter[>ID]=10', { filter: { '>ID': '10' } }],
    ['filter%5B%3DERROR%5D=1', { filter: { '=ERROR': '1' } }],
    ['order%5BID%5D=DESC&start=-1', { order: { ID: 'DESC' }, start: '-1' }],
    ['a[]=1&a[]=2&a[5]=x&a[]=y', { a: { 0: '1', 1: '2', 5: 'x', 6: 'y' } }],
    ['a[x][y]=1&a[x][z]=2', { a: { x: { y: '1', z: '2' } } }],
    ['a[b]c=1', { a: { b: '1' } }],
    ['a.b=1&c d=2', { a_b: '1', c_d: '2' }],
    ['a=%ZZ&b=1+2&c=%41', { a: '%ZZ', b: '1 2', c: 'A' }],
    ['x&&y=', { x: '', y: '' }],
    ['name=%D0%BF%D1%80%D0%B8', { name: 'при' }],
  ])('%s', (query, expected) => {
    const parsed = parseStr(query);

    expect(plain(parsed)).toEqual(expected);
  });

  it.each([
    // split at the first "=" before decoding: the key is "filter[", PHP makes it "filter_"
    ['filter[=ERROR]=1', { filter_: 'ERROR]=1' }],
    ['filter[>=ID]=5', { 'filter_>': 'ID]=5' }],
    ['filter[<=TIMESTAMP_X]=2024-07-18', { 'filter_<': 'TIMESTAMP_X]=2024-07-18' }],
  ])('loses the filter of an unencoded key with "=": %s', (query, expected) => {
    const parsed = parseStr(query);

    expect(plain(parsed)).toEqual(expected);
    expect(parsed['filter']).toBeUndefined();
  });

  it('keeps __proto__ as a plain key', () => {
    const parsed = parseStr('__proto__[polluted]=1');

    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(plain(parsed['__proto__'])).toEqual({ polluted: '1' });
  });
});

// the REST client's encoder, as the simulated portal's parser reads it
describe('buildQuery and parseStr', () => {
  it('encodes keys the way http_build_query does', () => {
    const query = buildQuery({
      filter: { '>ID': 10, '=ERROR': 1 },
      order: { ID: 'ASC' },
      start: -1,
      flag: true,
      skipped: null,
    });

    expect(query).toBe(
      'filter%5B%3EID%5D=10&filter%5B%3DERROR%5D=1&order%5BID%5D=ASC&start=-1&flag=1',
    );
  });

  it('round-trips through parseStr', () => {
    const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_>=<@%!:-]{0,8}$/);
    const leaf = fc.string({ maxLength: 12 });
    const tree = fc.dictionary(key, fc.oneof(leaf, fc.dictionary(key, leaf, { maxKeys: 3 })), {
      maxKeys: 4,
    });

    fc.assert(
      fc.property(tree, (params) => {
        const parsed = parseStr(buildQuery(params));
        const expected = Object.fromEntries(
          Object.entries(params).filter(
            ([, value]) => typeof value === 'string' || Object.keys(value).length > 0,
          ),
        );
        expect(plain(parsed)).toEqual(plain(expected));
      }),
      { numRuns: 200 },
    );
  });
});

describe('batch commands', () => {
  it('builds and parses "method?query"', () => {
    const command = batchCommand('event.offline.list', { filter: { '=ERROR': 1 }, start: -1 });

    const parsed = parseBatchCommand(command);

    expect(command).toBe('event.offline.list?filter%5B%3DERROR%5D=1&start=-1');
    expect(parsed.method).toBe('event.offline.list');
    expect(plain(parsed.params)).toEqual({ filter: { '=ERROR': '1' }, start: '-1' });
  });

  it('builds a bare method without parameters', () => {
    expect(batchCommand('event.get')).toBe('event.get');
    expect(parseBatchCommand('event.get').method).toBe('event.get');
  });
});

describe('phpArrayJson (json_encode of a PHP array)', () => {
  it.each([
    [[], []],
    [
      [
        ['0', 'a'],
        ['1', 'b'],
      ],
      ['a', 'b'],
    ],
    [
      [
        ['0', 'a'],
        ['2', 'c'],
      ],
      { 0: 'a', 2: 'c' },
    ],
    [[['x', 1]], { x: 1 }],
  ] as const)('%j', (entries, expected) => {
    expect(phpArrayJson(entries)).toEqual(expected);
  });
});

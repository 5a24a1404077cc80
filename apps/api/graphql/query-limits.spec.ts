import { describe, expect, test } from '@jest/globals';
import { buildSchema, parse, validate } from 'graphql';
import { depthLimitRule } from './query-limits.js';

// Our schema has no recursive type yet, so the depth rule is checked on one that has.
const schema = buildSchema(`type Node { id: ID  child: Node }  type Query { root: Node }`);
const nested = (levels: number) =>
  `{ root ${'{ child '.repeat(levels - 2)}{ id }${' }'.repeat(levels - 2)} }`;

describe('depthLimitRule', () => {
  test('accepts a query at the limit and rejects one level deeper, with QUERY_TOO_DEEP', () => {
    expect(validate(schema, parse(nested(5)), [depthLimitRule(5)])).toEqual([]);
    const [error] = validate(schema, parse(nested(6)), [depthLimitRule(5)]);
    expect(error.extensions).toMatchObject({ code: 'QUERY_TOO_DEEP', depth: 6, maxDepth: 5 });
  });

  test('follows fragments, even cyclic ones, and ignores introspection', () => {
    const viaFragments = `{ root { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { child { id } } }`;
    expect(validate(schema, parse(viaFragments), [depthLimitRule(4)])[0].extensions?.code).toBe(
      'QUERY_TOO_DEEP',
    );
    const cyclic = parse(`{ root { ...A } } fragment A on Node { child { ...A } }`);
    expect(() => validate(schema, cyclic, [depthLimitRule(4)])).not.toThrow();
    const introspection = `{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }`;
    expect(validate(schema, parse(introspection), [depthLimitRule(2)])).toEqual([]);
  });
});

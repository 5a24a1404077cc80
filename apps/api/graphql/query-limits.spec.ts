import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import {
  assertObjectType,
  buildSchema,
  getNamedType,
  getNullableType,
  isLeafType,
  isListType,
  isObjectType,
  parse,
  validate,
  type GraphQLSchema,
} from 'graphql';
import { createApp } from '../bootstrap.js';
import { loadConfig } from '../config/ledger-config.js';
import { depthLimitRule, MAX_COMPLEXITY, queryComplexity, WHOLE_READS } from './query-limits.js';

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

// The complexity estimate is checked on the API's own schema, whose shapes it must know.
describe('queryComplexity', () => {
  let app: INestApplication;
  let dataDir: string;
  let api: GraphQLSchema;
  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'query-limits-'));
    const config = loadConfig({
      LEDGER_DATA_DIR: dataDir,
      LEDGER_API_KEYS: 'root:admin:admin-key-0123456789',
      LOG_LEVEL: 'silent',
    });
    app = await createApp(config);
    await app.init();
    api = app.get(GraphQLSchemaHost).schema;
  });
  afterAll(async () => {
    await app.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const cost = (query: string) => queryComplexity(api, parse(query));
  /** A type's scalar and enum fields. */
  const scalars = (typeName: string) =>
    Object.values(assertObjectType(api.getType(typeName)).getFields())
      .filter((field) => isLeafType(getNamedType(field.type)))
      .map((field) => field.name)
      .join(' ');

  // Each paginated query, and the field of its result that lists the page's items.
  const pageItems: Record<string, string> = {
    compensations: 'grants',
    events: 'edges',
    incidents: 'edges',
    postmortems: 'postmortems',
    preventiveMeasures: 'measures',
    rootCauses: 'entries',
  };

  test('multiplies by `first` only the page items of every paginated result, not its counts and totals', () => {
    const paginated = Object.values(api.getTypeMap())
      .filter(isObjectType)
      .flatMap((type) => Object.values(type.getFields()).map((field) => ({ type, field })))
      .filter(({ field }) => field.args.some((arg) => arg.name === 'first'))
      .filter(({ field }) => !isListType(getNullableType(field.type)));
    // A new paginated field: list it here and in query-limits.ts's PAGE_ITEMS.
    expect(paginated.map(({ type, field }) => `${type.name}.${field.name}`).sort()).toEqual(
      Object.keys(pageItems)
        .map((name) => `Query.${name}`)
        .sort(),
    );
    for (const { field } of paginated) {
      for (const [name, child] of Object.entries(assertObjectType(getNamedType(field.type)).getFields())) {
        const selection = isLeafType(getNamedType(child.type)) ? name : `${name} { __typename }`;
        const page = (first: number) => cost(`{ ${field.name}(first: ${first}) { ${selection} } }`);
        expect([field.name, name, page(500) > page(1)]).toEqual([
          field.name,
          name,
          name === pageItems[field.name],
        ]);
      }
    }
  });

  test("accepts a ledger's per-segment totals, a list assumed of 20, whatever `first` is", () => {
    const totals = `{ compensations { totals { segment grants amounts { amount currency } } } }`;
    // compensations 1 + totals (1 + 20 × (segment 1 + grants 1 + amounts (1 + 20 × 2)))
    expect(cost(totals)).toBe(862);
    expect(cost(totals.replace('compensations', 'compensations(first: 500)'))).toBe(862);
    // Its grants, though, are counted once each.
    expect(cost(`{ compensations(first: 500) { totalCount grants { grantId } } }`)).toBe(1 + 1 + 500 * 2);
  });

  test('accepts a page of 100 incidents with every scalar field and their events', () => {
    const page = `{ incidents(first: 100) { totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { ${scalars('Incident')} events { ${scalars('IncidentEvent')} } } } } }`;
    expect(cost(page)).toBeLessThanOrEqual(MAX_COMPLEXITY);
  });

  test('still refuses many large pages, however they are written', () => {
    const items = `edges { node { events { type data hash } } }`;
    const incidents = `incidents(first: 100) { ${items} }`;
    const tenPages = Array.from({ length: 10 }, (_, n) => `p${n}: ${incidents}`).join(' ');
    expect(cost(`{ ${tenPages} }`)).toBeGreaterThan(MAX_COMPLEXITY);
    const grants = Array.from(
      { length: 10 },
      (_, n) => `p${n}: compensations(first: 500) { grants { ${scalars('CompensationEntry')} } }`,
    );
    expect(cost(`{ ${grants.join(' ')} }`)).toBeGreaterThan(MAX_COMPLEXITY);
    // The page's items count as many times through a fragment or an inline fragment.
    const one = cost(`{ ${incidents} }`);
    expect(cost(`{ incidents(first: 100) { ...P } } fragment P on IncidentConnection { ${items} }`)).toBe(
      one,
    );
    expect(cost(`{ incidents(first: 100) { ... on IncidentConnection { ${items} } } }`)).toBe(one);
    // A `first` below 1 (refused by the resolver) does not offset the other pages' cost.
    expect(cost(`{ a: incidents(first: -1000000) { edges { cursor } } ${tenPages} }`)).toBeGreaterThan(
      MAX_COMPLEXITY,
    );
  });

  const aliased = (times: number, field: string) =>
    Array.from({ length: times }, (_, n) => `a${n}: ${field}`).join(' ');
  const id = '"6f1d2c3b-0000-4000-8000-000000000000"';

  test.each([
    [`verifyIncidentIntegrity(id: ${id}) { valid }`],
    [`incidentAsOf(id: ${id}, version: 1) { id }`],
    [`auditTrail(incidentId: ${id}) { hash }`],
    [`incidentDiff(id: ${id}, fromVersion: 0, toVersion: 1) { path }`],
    [`timeline(incidentId: ${id}, visibility: ALL) { type }`],
    [`communicationCompliance(incidentId: ${id}) { cadenceCompliance }`],
    [`events(first: 1, types: ["IncidentClosed"]) { pageInfo { endCursor } }`],
    [`publicStatus { services { service } }`],
  ])(
    'charges the work of a field that reads a whole stream, scans the log or aggregates, however little it selects: %s',
    (field) => {
      // Each costs 1,000 and more: 50 aliases of one fit in a request, 51 do not.
      expect(cost(`{ ${field} }`)).toBeGreaterThan(1_000);
      expect(cost(`{ ${aliased(51, field)} }`)).toBeGreaterThan(MAX_COMPLEXITY);
    },
  );

  test('charges a whole read to fields of the schema (a renamed one would go free)', () => {
    const queries = Object.keys(api.getQueryType()!.getFields()).map((name) => `Query.${name}`);
    expect([...WHOLE_READS].filter((field) => !queries.includes(field))).toEqual([]);
  });

  test('charges each mutation its append: 500 in one request, not 501', () => {
    const declare = `declareIncident(input: { title: "x", severity: SEV4 }) { version }`;
    expect(cost(`mutation { ${aliased(400, declare)} }`)).toBeLessThanOrEqual(MAX_COMPLEXITY);
    expect(cost(`mutation { ${aliased(501, declare)} }`)).toBeGreaterThan(MAX_COMPLEXITY);
  });
});

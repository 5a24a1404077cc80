import type { ApolloServerPlugin } from '@apollo/server';
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isListType,
  Kind,
  type ASTNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';

/**
 * The largest request: an HTTP body, or a graphql-ws message. Bigger ones are refused before any
 * parsing (413; a socket is closed with 1009). Inputs have far smaller maxima.
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Deeper than this, a query is an attack or a mistake: our schema needs far fewer levels. */
export const MAX_DEPTH = 10;
/** Roughly: fields resolved. A page of 100 incidents with every scalar field and their events fits. */
export const MAX_COMPLEXITY = 50_000;
/** What a list field with no `first` argument is assumed to return, for the estimate. */
const ASSUMED_LIST_SIZE = 20;

// Introspection (`__schema`, `__type`) is exempt from the depth limit, and costs a fixed amount
// whatever it selects: GraphiQL's own introspection query is deep and wide, and it reads the
// schema, not data. Fixed, not free: hundreds of aliases of it would answer tens of megabytes.
const isIntrospection = (name: string) => name.startsWith('__');
const INTROSPECTION_COST = 5_000;

/** A document's fragments, by name. */
function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return fragments;
}

/** Rejects, before execution, operations nested deeper than `maxDepth` (fragments included). */
export const depthLimitRule =
  (maxDepth: number): ValidationRule =>
  (context) => {
    const fragments = fragmentsOf(context.getDocument());
    const depthOf = (selectionSet: SelectionSetNode | undefined, seen: Set<string>): number => {
      if (!selectionSet) return 0;
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          if (isIntrospection(selection.name.value)) continue;
          deepest = Math.max(deepest, 1 + depthOf(selection.selectionSet, seen));
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(selection.selectionSet, seen));
        } else if (!seen.has(selection.name.value)) {
          const fragment = fragments.get(selection.name.value);
          deepest = Math.max(
            deepest,
            depthOf(fragment?.selectionSet, new Set([...seen, selection.name.value])),
          );
        }
      }
      return deepest;
    };
    return {
      OperationDefinition(operation: ASTNode) {
        if (operation.kind !== Kind.OPERATION_DEFINITION) return;
        const depth = depthOf(operation.selectionSet, new Set());
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`The query is ${depth} levels deep; at most ${maxDepth} are allowed`, {
              nodes: [operation],
              extensions: { code: 'QUERY_TOO_DEEP', depth, maxDepth },
            }),
          );
        }
      },
    };
  };

/**
 * Fields whose work is not what they select: each reads an incident's whole stream or timeline, or
 * scans the log, or aggregates over incidents, however little it returns. They cost this much, so
 * that aliases of them are bounded (MAX_COMPLEXITY / 1,000: 50 in one request).
 */
const WHOLE_READ_COST = 1_000;
export const WHOLE_READS: ReadonlySet<string> = new Set(
  [
    'incidentAsOf',
    'auditTrail',
    'incidentDiff',
    'verifyIncidentIntegrity',
    'timeline',
    'communications',
    'communicationCompliance',
    'incidentMetrics',
    'overdueUpdates',
    'feedbackBySeverity',
    'customerFeedback',
    'publicStatus',
    'events',
    'webhookDeliveries',
    'maintenances',
  ].map((field) => `Query.${field}`),
);
/** A mutation appends (a commit to disk, or a share of one): at most 500 in one request. */
const MUTATION_COST = 100;

/**
 * The field listing the items of each paginated result (the type a `first` field returns). Only
 * these are repeated `first` times; the result's other fields (totalCount, pageInfo, per-segment
 * totals) are one per page. A result type missing here has all its fields multiplied: safe, if dear.
 */
const PAGE_ITEMS: Readonly<Record<string, string>> = {
  CompensationLedger: 'grants',
  EventConnection: 'edges',
  IncidentConnection: 'edges',
  PostmortemList: 'postmortems',
  PreventiveMeasureList: 'measures',
  RootCauseCatalog: 'entries',
};

/**
 * The estimate of one operation: a field with a `first` argument costs its page's items `first`
 * times, its other fields once; another list field, its children an assumed number of times.
 * An estimator sees only the sum of a field's children, so each page's items field records its own
 * cost, for the paginated field above it (evaluated after it) to multiply.
 */
function listEstimator(document: DocumentNode): ComplexityEstimator {
  const fragments = fragmentsOf(document);
  const itemCosts = new Map<FieldNode, number>();
  // The cost of one of the page's items: its `name` fields in the selection set, fragments included.
  const itemCost = (selectionSet: SelectionSetNode | undefined, name: string): number => {
    let sum = 0;
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === name) sum += itemCosts.get(selection) ?? 0;
      } else {
        const fragment =
          selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments.get(selection.name.value);
        sum += itemCost(fragment?.selectionSet, name);
      }
    }
    return sum;
  };
  return ({ type, field, node, args, childComplexity }) => {
    if (field.name === '__schema' || field.name === '__type') return INTROSPECTION_COST;
    if (isIntrospection(field.name)) return 1;
    if (PAGE_ITEMS[type.name] === field.name) {
      itemCosts.set(node, 1 + childComplexity);
      return 1 + childComplexity;
    }
    if (typeof args.first === 'number') {
      // The resolvers refuse a `first` below 1: a negative one must not offset the other fields' cost.
      const first = Math.max(args.first, 0);
      const items = PAGE_ITEMS[getNamedType(field.type).name];
      if (!items) return 1 + childComplexity * first;
      return 1 + childComplexity + (first - 1) * itemCost(node.selectionSet, items);
    }
    if (isListType(getNullableType(field.type))) return 1 + childComplexity * ASSUMED_LIST_SIZE;
  };
}

/**
 * Adds to an estimate the work of the fields that do more than they select: WHOLE_READS and
 * mutations. A field the estimator leaves to the next one gets its children's cost besides.
 */
function withWork(estimator: ComplexityEstimator): ComplexityEstimator {
  return (options) => {
    const { type, field, childComplexity } = options;
    const work = WHOLE_READS.has(`${type.name}.${field.name}`)
      ? WHOLE_READ_COST
      : type.name === 'Mutation'
        ? MUTATION_COST
        : 0;
    const estimate = estimator(options);
    return work === 0 ? estimate : work + (estimate ?? 1 + childComplexity);
  };
}

/** The estimated cost of an operation, as the complexity limit sees it. */
export function queryComplexity(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables?: Record<string, unknown>,
  operationName?: string,
): number {
  return getComplexity({
    schema,
    query: document,
    operationName,
    variables,
    estimators: [withWork(listEstimator(document)), simpleEstimator({ defaultComplexity: 1 })],
  });
}

/**
 * Why a subscription must not run, by its cost; null when it may. A subscription has one root field
 * and ours return no lists: its cost is the fields it selects, fragments expanded (a validated
 * document has no fragment cycles). Counted without variables, which graphql-ws does not show here.
 */
export function subscriptionRefusal(document: DocumentNode): GraphQLError | null {
  const fragments = fragmentsOf(document);
  const fieldsIn = (selectionSet: SelectionSetNode | undefined): number => {
    let count = 0;
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FIELD) count += 1 + fieldsIn(selection.selectionSet);
      else if (selection.kind === Kind.INLINE_FRAGMENT) count += fieldsIn(selection.selectionSet);
      else count += fieldsIn(fragments.get(selection.name.value)?.selectionSet);
      if (count > MAX_COMPLEXITY) break;
    }
    return count;
  };
  const cost = document.definitions.reduce(
    (sum, definition) =>
      sum + (definition.kind === Kind.OPERATION_DEFINITION ? fieldsIn(definition.selectionSet) : 0),
    0,
  );
  // Counting stops past the limit: the cost is then only known to be over it.
  return cost > MAX_COMPLEXITY ? tooComplex(`over ${MAX_COMPLEXITY}`) : null;
}

function tooComplex(complexity: number | string): GraphQLError {
  return new GraphQLError(
    `The query's estimated cost is ${complexity}; at most ${MAX_COMPLEXITY} is allowed`,
    {
      extensions: {
        code: 'QUERY_TOO_COMPLEX',
        complexity,
        maxComplexity: MAX_COMPLEXITY,
        http: { status: 400 },
      },
    },
  );
}

/** graphql-query-complexity's message when a query has more nodes than it will estimate. */
const TOO_MANY_NODES = /maximum allowed number of nodes/;

/**
 * Why an operation must not run, by its estimated cost; null when it may. Given an argument its
 * variables make invalid (`first: null` for an `Int!`), graphql-js would refuse that field alone and
 * run the others, unestimated: the whole operation is refused instead, as bad input.
 */
export function complexityRefusal(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables?: Record<string, unknown>,
  operationName?: string,
): GraphQLError | null {
  let complexity: number;
  try {
    complexity = queryComplexity(schema, document, variables, operationName);
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    // Too many fields to estimate (the library stops at 10,000 nodes): too costly as well.
    if (!TOO_MANY_NODES.test(error.message)) {
      return new GraphQLError(error.message, {
        extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
      });
    }
    complexity = Infinity;
  }
  return complexity > MAX_COMPLEXITY ? tooComplex(complexity) : null;
}

/**
 * Rejects, before execution, operations whose estimated cost is over MAX_COMPLEXITY. It runs
 * once the operation and its variables are known (a validation rule does not see variables).
 */
export const complexityLimitPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ request, document, schema }) {
        const refusal = complexityRefusal(
          schema,
          document,
          request.variables,
          request.operationName ?? undefined,
        );
        if (refusal) throw refusal;
      },
    };
  },
};

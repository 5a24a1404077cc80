import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  type ASTNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';

/** Deeper than this, a query is an attack or a mistake: our schema needs far fewer levels. */
export const MAX_DEPTH = 10;
/** Roughly: fields resolved. A page of 100 incidents with every field and their events fits. */
export const MAX_COMPLEXITY = 50_000;
/** What a list field with no `first` argument is assumed to return, for the estimate. */
const ASSUMED_LIST_SIZE = 20;

// Introspection (`__schema`, `__type`) is exempt from both limits: GraphiQL's own introspection
// query is deep and wide, and it reads the schema, not data.
const isIntrospection = (name: string) => name.startsWith('__');

/** Rejects, before execution, operations nested deeper than `maxDepth` (fragments included). */
export const depthLimitRule =
  (maxDepth: number): ValidationRule =>
  (context) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
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
 * A field with a `first` argument costs its children that many times; another list field, an
 * assumed size. A connection's `edges` are already counted by its `first`.
 */
const listEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  if (isIntrospection(field.name)) return 1;
  if (typeof args.first === 'number') return 1 + childComplexity * args.first;
  const isList = field.type.toString().replace(/!/g, '').startsWith('[');
  if (isList && field.name !== 'edges') return 1 + childComplexity * ASSUMED_LIST_SIZE;
};

/**
 * Rejects, before execution, operations whose estimated cost is over MAX_COMPLEXITY. It runs
 * once the operation and its variables are known (a validation rule does not see variables).
 */
export const complexityLimitPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ request, document, schema }) {
        let complexity: number;
        try {
          complexity = getComplexity({
            schema,
            query: document,
            operationName: request.operationName ?? undefined,
            variables: request.variables,
            estimators: [listEstimator, simpleEstimator({ defaultComplexity: 1 })],
          });
        } catch {
          return; // invalid variables: execution rejects them as BAD_USER_INPUT, running nothing
        }
        if (complexity > MAX_COMPLEXITY) {
          throw new GraphQLError(
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
      },
    };
  },
};

import { GraphQLDateTime, GraphQLJSON } from 'graphql-scalars';

/** RFC 3339 date-times, strictly validated (an impossible date is BAD_USER_INPUT); parsed to Date. */
export const DateTime = GraphQLDateTime;
export const JSONScalar = GraphQLJSON;

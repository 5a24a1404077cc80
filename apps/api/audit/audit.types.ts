import { Field, Int, ObjectType } from '@nestjs/graphql';
import { JSONScalar } from '../graphql/scalars.js';

@ObjectType({ description: "The result of re-computing an incident's hash chain from its stored events." })
export class IntegrityReport {
  @Field(() => Boolean) valid!: boolean;
  @Field(() => Int, { description: 'Events checked, the first broken one included.' }) checkedEvents!: number;
  @Field(() => Int, { nullable: true }) firstBrokenVersion!: number | null;
  @Field(() => String, { nullable: true }) expectedHash!: string | null;
  @Field(() => String, { nullable: true }) foundHash!: string | null;
  @Field(() => String, { nullable: true, description: 'What is wrong at the first broken link.' })
  problem!: string | null;
  @Field(() => String, {
    nullable: true,
    description:
      'The hash of the newest event when the chain is valid. Keep it with checkedEvents outside the ledger: the chain cannot show events cut off its end, but a later report with fewer events, or another hash at that version, does.',
  })
  headHash!: string | null;
}

@ObjectType({ description: 'One difference between two states of an incident.' })
export class StateChange {
  @Field(() => String, { description: 'A JSON Pointer into the state, e.g. /services/checkout.' })
  path!: string;
  @Field(() => JSONScalar, { nullable: true, description: 'null: absent on this side.' }) before!: unknown;
  @Field(() => JSONScalar, { nullable: true }) after!: unknown;
}

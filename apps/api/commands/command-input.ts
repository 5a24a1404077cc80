import { applyDecorators } from '@nestjs/common';
import { Field, InputType, Int } from '@nestjs/graphql';
import { IsDate, IsInt, IsOptional, MaxLength, Min, MinLength } from 'class-validator';
import { DateTime } from '../graphql/scalars.js';

// Sane maxima: generous for people, tight enough that nobody stores a novel in a title.
export const TITLE_MAX = 200;
export const TEXT_MAX = 5_000;
export const REASON_MAX = 2_000;
export const NAME_MAX = 200;
export const SERVICES_MAX = 50;
export const SERVICE_NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._/&()-]{0,99}$/u;

/** An input's optional idempotency key: retrying with it returns the first result. */
export const IdempotencyKeyField = () =>
  applyDecorators(
    Field(() => String, {
      nullable: true,
      description: 'Retrying with the same key returns the first result. Omit it (not "") to send none.',
    }),
    IsOptional(),
    // An empty key would be stored, yet read as no key: every later "" request looked in progress.
    MinLength(1, { message: 'idempotencyKey must not be empty; omit it to send no key' }),
    MaxLength(NAME_MAX),
  );

/** What every command input may carry. Emptiness and ordering rules belong to the domain. */
@InputType({ isAbstract: true })
export abstract class CommandInput {
  @Field(() => DateTime, {
    nullable: true,
    description: 'When it happened, if earlier than now (backdating).',
  })
  @IsOptional()
  @IsDate()
  occurredAt?: Date;

  @IdempotencyKeyField()
  idempotencyKey?: string;
}

/** A command on an existing stream (an incident, a maintenance), optionally at a version. */
@InputType({ isAbstract: true })
export abstract class StreamActionInput extends CommandInput {
  @Field(() => Int, {
    nullable: true,
    description: 'Fail with VERSION_CONFLICT unless the incident or maintenance is at this version.',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  expectedVersion?: number;
}

import { ValidationPipe, type Type, type ValidationPipeOptions } from '@nestjs/common';
import { Args } from '@nestjs/graphql';
import { ValidateBy, type ValidationArguments } from 'class-validator';

/** How every input is validated: unknown fields refused, values turned into their classes. */
export const VALIDATION_OPTIONS: ValidationPipeOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  stopAtFirstError: false,
  validationError: { target: false, value: false },
};

/**
 * An optional input-object argument, validated like any input. Its TypeScript type (`X | null`)
 * reaches Nest as Object, which the global ValidationPipe passes over unchecked: this names the
 * class to the pipe.
 */
export const OptionalInputArg = (name: string, type: Type) =>
  Args(
    name,
    { type: () => type, nullable: true },
    new ValidationPipe({ ...VALIDATION_OPTIONS, expectedType: type }),
  );

/**
 * An input object without its fields given as null: in GraphQL an explicit null and an absent
 * optional field both mean "not given" (a filter's `service: null` is no constraint, not a service
 * named null).
 */
export function withoutNulls<T extends object>(input: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null)) as {
    [K in keyof T]?: Exclude<T[K], null>;
  };
}

/** The end of a range may not come before its start (`startField`), when both are given. */
export const IsNotBefore = (startField: string) =>
  ValidateBy({
    name: 'isNotBefore',
    constraints: [startField],
    validator: {
      validate: (end: unknown, { object }: ValidationArguments) => {
        const start = (object as Record<string, unknown>)[startField];
        return !(start instanceof Date && end instanceof Date) || start.getTime() <= end.getTime();
      },
      defaultMessage: ({ property }: ValidationArguments) => `${property} must not be before ${startField}`,
    },
  });

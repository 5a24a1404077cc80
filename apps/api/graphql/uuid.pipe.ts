import { ParseUUIDPipe } from '@nestjs/common';
import { BadUserInputError } from './errors.js';

/** Validates an ID argument that must be a UUID, as BAD_USER_INPUT naming the argument. */
export const uuidPipe = (argument: string) =>
  new ParseUUIDPipe({ exceptionFactory: () => new BadUserInputError(`${argument} must be a UUID`) });

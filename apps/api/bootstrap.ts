import 'reflect-metadata';
import { ValidationPipe, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import type { LedgerConfig } from './config/ledger-config.js';
import { VALIDATION_OPTIONS } from './graphql/validation.js';

/** The largest request body; bigger ones get 413 before any parsing. Inputs have far smaller maxima. */
const BODY_LIMIT = '1mb';

/** Builds the API (without listening), as `main.ts` and the end-to-end tests both use it. */
export async function createApp(config: LedgerConfig): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.with(config), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.useGlobalPipes(new ValidationPipe(VALIDATION_OPTIONS));
  return app;
}

import 'reflect-metadata';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConsoleLogger, Logger as NestLogger, ValidationPipe, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { DataDirLock } from '../../libs/data-dir/data-dir-lock.js';
import { AppModule } from './app.module.js';
import { logsWarnings, type LedgerConfig } from './config/ledger-config.js';
import { MAX_REQUEST_BYTES } from './graphql/query-limits.js';
import { VALIDATION_OPTIONS } from './graphql/validation.js';

/**
 * What a browser page on an allowed origin may send: the bearer key, JSON bodies, read-your-writes,
 * its own request id, and the headers Apollo's CSRF prevention accepts on GET (`apollo-require-preflight`,
 * `x-apollo-operation-name`). Credentials are bearer keys, never cookies: no Allow-Credentials.
 */
const CORS_ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'x-consistent-with',
  'x-request-id',
  'apollo-require-preflight',
  'x-apollo-operation-name',
];

/**
 * On every response: no content-type sniffing, and no framing of the GraphiQL page (where keys are
 * pasted) by another site.
 */
function securityHeaders(_request: IncomingMessage, response: ServerResponse, next: () => void): void {
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('X-Frame-Options', 'DENY');
  response.setHeader('Content-Security-Policy', "frame-ancestors 'none'");
  next();
}

/**
 * LEDGER_CORS_ORIGINS as the `cors` package's options. A request from another origin (or with no
 * Origin) gets no CORS header at all and goes on as it would without CORS. Apollo's CSRF prevention
 * stays on: it refuses the requests a browser sends cross-origin without a preflight.
 */
function corsOptions(origins: '*' | string[]): Parameters<NestExpressApplication['enableCors']>[0] {
  const allowed = new Set(origins === '*' ? [] : origins);
  return {
    origin:
      origins === '*' ? '*' : (origin, allow) => allow(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'POST'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: ['x-request-id'],
    maxAge: 3600,
  };
}

/**
 * Builds the API (without listening), as `main.ts` and the end-to-end tests both use it. It first
 * takes the data directory's lock (DataDirInUseError when another server or a rebuild holds it),
 * before any of its files is opened; the app releases it when it closes.
 */
export async function createApp(config: LedgerConfig): Promise<INestApplication> {
  const lock = DataDirLock.acquire(config.dataDir);
  try {
    return await createAppHolding(config, lock);
  } catch (error) {
    lock.release();
    if (logsWarnings(config.logLevel)) tellBufferedWarnings();
    throw error;
  }
}

/**
 * The warnings Nest held back (bufferLogs) while the app was being built, when building it failed:
 * they would go with it, and one can matter beyond this start (a new, empty event store created in
 * a mistyped LEDGER_DATA_DIR is not new at the next start). As plain lines, as main.ts says what
 * failed; Nest's own report of the failure (a stack trace) and its progress lines are left out.
 */
function tellBufferedWarnings(): void {
  const ignore = () => undefined;
  NestLogger.overrideLogger({
    log: ignore,
    error: ignore,
    // Nest's Logger passes the context last.
    warn: (message: unknown, ...rest: unknown[]) => {
      process.stderr.write(`${String(rest.at(-1))}: ${String(message)}\n`);
    },
  });
  NestLogger.flush();
  NestLogger.overrideLogger(new ConsoleLogger());
}

async function createAppHolding(config: LedgerConfig, lock: DataDirLock): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.with(config, lock), {
    bufferLogs: true,
    bodyParser: false,
    // A provider that fails (a data dir's file that cannot be used) is thrown to main.ts, which
    // says what it is, instead of Nest's exiting with a stack trace.
    abortOnError: false,
    // Nor are the logs buffered until then flushed with Nest's report of it (a stack trace): they
    // are flushed below, once the app is built.
    autoFlushLogs: false,
  });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  app.disable('x-powered-by');
  app.use(securityHeaders);
  if (config.corsOrigins) app.enableCors(corsOptions(config.corsOrigins));
  app.useBodyParser('json', { limit: MAX_REQUEST_BYTES });
  app.useGlobalPipes(new ValidationPipe(VALIDATION_OPTIONS));
  return app;
}

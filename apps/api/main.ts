import type { AddressInfo } from 'node:net';
import { DataDirInUseError } from '../../libs/data-dir/data-dir-lock.js';
import { CheckpointAheadOfLogError } from '../../libs/feed-follower/feed-follower.js';
import { GeneratedKeysError } from './auth/api-key-ring.js';
import { ConfigError, loadConfig } from './config/ledger-config.js';
import { createApp } from './bootstrap.js';
import { dataDirProblem } from './data-dir-problems.js';
import { EventStoreUnreachableError } from './event-store/event-store.module.js';
import { HttpDrain } from './http-drain.js';

/** How long a shutdown waits for running requests to answer. */
const DRAIN_TIMEOUT_MS = 10_000;

let dataDir: string | null = null;
let configuredPort: number | null = null;
try {
  const config = loadConfig();
  ({ dataDir, port: configuredPort } = config);
  const app = await createApp(config);
  const http = new HttpDrain();
  // Before GraphQL's own middleware, which the app adds as it starts listening.
  app.use(http.middleware);
  await app.listen(config.port);
  // Graceful shutdown: stop accepting requests, let the running ones (and their appends) finish
  // and answer, close the store, exit 0. A second signal exits at once.
  const shutdown = () => {
    process.once('SIGTERM', () => process.exit(1));
    process.once('SIGINT', () => process.exit(1));
    process.stdout.write('incident-ledger: shutting down\n');
    http
      .drain(app.getHttpServer(), DRAIN_TIMEOUT_MS)
      .then(() => app.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`Shutdown failed: ${String(error)}\n`);
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  // Only now: whoever waits for this line may stop the server at once, and must find it ready to
  // shut down gracefully (a signal before the handlers above would end the process outright).
  // The port bound, which PORT=0 leaves to the system.
  const { port } = app.getHttpServer().address() as AddressInfo;
  process.stdout.write(`incident-ledger: GraphQL on http://localhost:${port}/graphql\n`);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  const problem =
    error instanceof DataDirInUseError ||
    error instanceof CheckpointAheadOfLogError ||
    error instanceof EventStoreUnreachableError ||
    error instanceof GeneratedKeysError
      ? error.message
      : (error as { code?: unknown } | null)?.code === 'EADDRINUSE'
        ? `PORT ${configuredPort} is already in use by another process`
        : dataDir && dataDirProblem(dataDir, error);
  if (problem) {
    process.stderr.write(`Cannot start: ${problem}\n`);
    process.exit(1);
  }
  throw error;
}

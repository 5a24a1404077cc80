import { ConfigError, loadConfig } from './config/ledger-config.js';
import { createApp } from './bootstrap.js';

try {
  const config = loadConfig();
  const app = await createApp(config);
  await app.listen(config.port);
  process.stdout.write(`incident-ledger: GraphQL on http://localhost:${config.port}/graphql\n`);

  // Graceful shutdown: stop accepting requests, let in-flight ones (and their appends) finish,
  // close the store, exit 0. A second signal exits at once.
  const shutdown = () => {
    process.once('SIGTERM', () => process.exit(1));
    process.once('SIGINT', () => process.exit(1));
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`Shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

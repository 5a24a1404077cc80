// Used by the crash test in projection-runner.spec.ts, which kills this process with SIGKILL.
// Usage: node project-forever.mjs <compiled repository root> <data dir> <batch size>
// Runs a ProjectionRunner from <data dir>/events.db into <data dir>/read-models.db and prints
// the checkpoint it starts from (0 for none), then the checkpoint after every batch it commits. Any failure exits with 1: in the crash test a
// failure (an event applied twice, a damaged file) is the finding.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [buildDir, dataDir, batchSize] = process.argv.slice(2);
const load = (path) => import(pathToFileURL(join(buildDir, path)).href);
const { SqliteEventStore } = await load('libs/event-store/sqlite/sqlite-event-store.js');
const { openReadModels, ProjectionRunner } = await load('libs/read-models/index.js');

const store = SqliteEventStore.open(join(dataDir, 'events.db'));
const readModels = openReadModels(dataDir);
const runner = new ProjectionRunner(store, readModels.db, { batchSize: Number(batchSize) });
runner.onProgress(({ checkpoint }) => process.stdout.write(`${checkpoint}\n`));
runner.onError((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
process.stdout.write(`${(await runner.status()).checkpoint ?? 0}\n`);
runner.start();

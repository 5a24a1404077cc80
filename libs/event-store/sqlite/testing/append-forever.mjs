// Used by the crash test in sqlite-event-store.spec.ts, which kills this process with SIGKILL.
// Usage: node append-forever.mjs <compiled sqlite-event-store.js> <database file> <writers>
// Each writer appends to its own stream with the exact expected version, forever, and prints
// "<stream> <version> <position> <eventId>" once an append is acknowledged.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const [modulePath, databaseFile, writers] = process.argv.slice(2);
const { SqliteEventStore } = await import(pathToFileURL(modulePath).href);
const store = SqliteEventStore.open(databaseFile);

async function writer(streamId) {
  for (let version = 0; ; version++) {
    const event = {
      eventId: randomUUID(),
      type: 'CrashTested',
      schemaVersion: 1,
      data: { version, padding: 'x'.repeat(200) },
      occurredAt: new Date().toISOString(),
      actor: 'crash-test',
      correlationId: randomUUID(),
      causationId: null,
      idempotencyKey: null,
      requestFingerprint: null,
    };
    const { nextVersion, position } = await store.appendToStream(streamId, [event], version);
    // Writes to a pipe are synchronous on Linux: the line is out before the next append.
    process.stdout.write(`${streamId} ${nextVersion} ${position} ${event.eventId}\n`);
  }
}

await Promise.all(Array.from({ length: Number(writers) }, (_, i) => writer(`crash-${i}`)));

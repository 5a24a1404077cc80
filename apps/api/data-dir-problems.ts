import path from 'node:path';
import {
  isDamagedDatabaseError,
  NewerReadModelsError,
  READ_MODELS_FILE,
  readModelsDamaged,
} from '../../libs/read-models/index.js';
import { EVENT_STORE_FILE } from './event-store/event-store.module.js';

/**
 * What to tell an operator whose data directory holds a file that cannot be used: the server (at
 * start) and the CLI say the same. SQLite's own messages do not name the file, and the read
 * models (derived, rebuilt at will) need the opposite care from the event log (irreplaceable).
 */
export const dataDirAdvice = {
  newerReadModels: (error: NewerReadModelsError, file: string) =>
    `${error.message}: a newer release wrote it. Use that release; or, to go back to this one, delete ` +
    `${file} (with its -wal and -shm files) and run rebuild.`,
  damagedReadModels: (file: string, reason: string) =>
    `${file} is damaged (${reason}). It holds only derived data: run rebuild, which deletes it (with its ` +
    '-wal and -shm files) and rebuilds it from the event log, or delete them and start the server.',
  damagedEventStore: (file: string, reason: string) =>
    `${file} is damaged (${reason}). It is the event log itself, which nothing can rebuild: stop the ` +
    'server, keep a copy of it (with its -wal and -shm files), and restore it from a backup.',
};

/** Why the files of `dataDir` cannot be used, in words an operator can act on; null for another failure. */
export function dataDirProblem(dataDir: string, error: unknown): string | null {
  const readModels = path.join(dataDir, READ_MODELS_FILE);
  if (error instanceof NewerReadModelsError) return dataDirAdvice.newerReadModels(error, readModels);
  if (isDamagedDatabaseError(error)) {
    const reason = (error as Error).message;
    return readModelsDamaged(dataDir)
      ? dataDirAdvice.damagedReadModels(readModels, reason)
      : dataDirAdvice.damagedEventStore(path.resolve(dataDir, EVENT_STORE_FILE), reason);
  }
  if ((error as { code?: unknown } | null)?.code === 'SQLITE_CANTOPEN') {
    return `LEDGER_DATA_DIR ${path.resolve(dataDir)}: ${(error as Error).message} (may this user write there?)`;
  }
  return null;
}

import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Creates, when missing, a data dir's SQLite file readable by its owner only (SQLite gives its -wal
 * and -shm files the same mode), and its directory likewise: every file of the data dir holds
 * something for staff only (internal notes, the internal timeline, webhook secrets).
 */
export function createOwnerOnly(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
}

import { closeSync, fsyncSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** Makes the entries of `dir` (files created, linked or renamed in) durable: fsync on the directory. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** syncDirectory for a caller that is synchronous (the API key ring, at start). */
export function syncDirectorySync(dir: string): void {
  fsyncPathSync(dir);
}

/** Makes a closed file's content durable (a rebuild's new read models, before their rename). */
export function syncFileSync(file: string): void {
  fsyncPathSync(file);
}

function fsyncPathSync(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

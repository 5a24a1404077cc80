import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { DataDirInUseError, DataDirLock } from './data-dir-lock.js';

describe('DataDirLock', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'data-dir-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('one holder at a time; released, it can be taken again', () => {
    const dataDir = join(dir, 'data');
    expect(DataDirLock.isHeld(dataDir)).toBe(false);

    const first = DataDirLock.acquire(dataDir);

    let refused: unknown;
    try {
      DataDirLock.acquire(dataDir).release();
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(DataDirInUseError);
    expect((refused as Error).message).toContain(
      `another process works on this data directory (it holds ${join(dataDir, 'server.lock')})`,
    );
    expect(DataDirLock.isHeld(dataDir)).toBe(true);
    first.release();
    expect(DataDirLock.isHeld(dataDir)).toBe(false);
    DataDirLock.acquire(dataDir).release();
  });

  test('creates the data dir for its owner only, and one file in it', () => {
    const dataDir = join(dir, 'data');

    DataDirLock.acquire(dataDir).release();

    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'server.lock')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dataDir)).toEqual(['server.lock']);
  });

  test('looking whether it is held creates nothing, and leaves it free to take', () => {
    const dataDir = join(dir, 'never-used');

    expect(DataDirLock.isHeld(dataDir)).toBe(false);

    expect(existsSync(dataDir)).toBe(false);
    DataDirLock.acquire(dataDir).release();
    expect(DataDirLock.isHeld(dataDir)).toBe(false);
    DataDirLock.acquire(dataDir).release();
  });
});

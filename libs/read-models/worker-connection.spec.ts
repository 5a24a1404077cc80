import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { WorkerConnection } from './worker-connection.js';

describe('WorkerConnection: a SQLite connection on a thread of its own', () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'worker-connection-'));
    file = join(dir, 'models.db');
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const rowsOf = (sql: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare(sql).all();
    } finally {
      db.close();
    }
  };

  test('runs statements in order, a read sees all those before it, close leaves the file to others', async () => {
    const db = new WorkerConnection(file);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL); BEGIN');
    const insert = db.prepare<[number, string]>('INSERT INTO notes (id, text) VALUES (?, ?)');
    const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM notes');
    // More than one batch's worth before the read.
    for (let id = 1; id <= 20_000; id++) insert.run(id, `note ${id}`);
    expect(count.get()).toEqual({ n: 20_000 });
    await db.keepUp();
    db.prepare<[string, number]>('UPDATE notes SET text = ? WHERE id = ?').run('changed', 7);
    expect(
      db.prepare<[number], { text: string }>('SELECT text FROM notes WHERE id <= ?').all(7).at(-1),
    ).toEqual({
      text: 'changed',
    });
    db.exec('COMMIT');
    await db.close();

    expect(rowsOf('SELECT count(*) AS n, max(id) AS last FROM notes')).toEqual([{ n: 20_000, last: 20_000 }]);
    // A read after the thread has ended fails at once instead of waiting for an answer forever.
    expect(() => db.prepare('SELECT 1').get()).toThrow('The rebuild’s SQLite thread ended');
  });

  test("the thread's first failure is thrown, with SQLite's code, and nothing after it runs", async () => {
    const db = new WorkerConnection(file);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
    const insert = db.prepare<[number, string | null]>('INSERT INTO notes (id, text) VALUES (?, ?)');
    insert.run(1, 'first');
    insert.run(2, null);
    insert.run(3, 'after the failure');
    const failure = { name: 'SqliteError', code: 'SQLITE_CONSTRAINT_NOTNULL' };

    // keepUp waits for the step before its own: the second one learns of the failure.
    await db.keepUp();
    await expect(db.keepUp()).rejects.toMatchObject({
      ...failure,
      message: expect.stringContaining('notes.text'),
    });
    expect(() => db.prepare('SELECT 1').get()).toThrow(expect.objectContaining(failure));
    await expect(db.close()).rejects.toMatchObject(failure);
    await db.terminate();

    expect(rowsOf('SELECT id FROM notes')).toEqual([{ id: 1 }]);
  });
});

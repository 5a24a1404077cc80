import { createRequire } from 'node:module';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { SqlConnection, SqlStatement } from './sql-connection.js';

/** Values queued (statement ids, counts and parameters) before they go to the thread in one message. */
const BATCH_VALUES = 30_000;
/** What the thread sets `answered` to: it answered a read, or it is ending (and will answer none). */
const ANSWERED = 1;
const ENDED = 2;

// What the thread is sent: a flat list of [statement id, number of values, ...values], which costs
// less to copy between threads than an object per statement. Negative ids are not statements.
const EXEC = -1;
const PREPARE = -2;

interface Batch {
  ops: unknown[];
  /** Numbered batches are acknowledged once run. */
  batch?: number;
  /** A read to answer through the shared port once the ops have run: statement id, mode, params. */
  read?: [number, 'get' | 'all', unknown[]];
  /** Close the database and end the thread. */
  close?: boolean;
}

/** An error as it crosses between threads: SQLite's `code` would otherwise be lost. */
interface ErrorDescription {
  name: string;
  message: string;
  code?: string;
}

/**
 * A SQLite connection on a worker thread, for a rebuild: its statements run in order, in batches,
 * while the main thread goes on projecting (binding and stepping every insert was about a third of a
 * rebuild's time). `run` and `exec` only queue; a read (`get`, `all`) blocks until the thread has
 * run everything before it and answered. The thread's first failure is thrown by the next read,
 * `keepUp` or `close`, and every statement after it is skipped.
 */
export class WorkerConnection implements SqlConnection {
  private readonly worker: Worker;
  /** Where the thread answers reads, taken synchronously (receiveMessageOnPort). */
  private readonly answers: MessagePort;
  /** Set by the thread once it has answered a read, or is ending: what a read waits on. */
  private readonly answered: Int32Array;
  private ops: unknown[] = [];
  private statements = 0;
  private sent = 0;
  private sentAtLastKeepUp = 0;
  private acknowledged = 0;
  private failure: Error | null = null;
  private waiter: { until: number; resolve: () => void; reject: (error: Error) => void } | null = null;
  private closing = false;
  private readonly exited: Promise<void>;

  /** Opens `file` (created if missing) on a new thread. */
  constructor(file: string) {
    const { port1, port2 } = new MessageChannel();
    this.answers = port1;
    this.answered = new Int32Array(new SharedArrayBuffer(4));
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(`(${runStatements.toString()})()`, {
      eval: true,
      workerData: {
        driver,
        file,
        answered: this.answered,
        answers: port2,
        codes: { exec: EXEC, prepare: PREPARE, answeredRead: ANSWERED, ended: ENDED },
      },
      transferList: [port2],
    });
    this.worker.on('message', ({ batch, failure }: { batch: number; failure: ErrorDescription | null }) => {
      this.acknowledged = batch;
      if (failure !== null) this.failure ??= toError(failure);
      this.wakeWaiter();
    });
    this.worker.on('error', (error) => {
      this.failure ??= error;
      this.wakeWaiter();
    });
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (exitCode) => {
        if (!this.closing || exitCode !== 0) this.failure ??= threadEnded();
        this.wakeWaiter();
        resolve();
      }),
    );
  }

  prepare<Params extends unknown[] = unknown[], Row = unknown>(sql: string): SqlStatement<Params, Row> {
    const id = this.statements++;
    this.queue(PREPARE, id, sql);
    return {
      run: (...params) => this.queue(id, ...params),
      get: (...params) => this.read(id, 'get', params) as Row | undefined,
      all: (...params) => this.read(id, 'all', params) as Row[],
    };
  }

  exec(sql: string): void {
    this.queue(EXEC, sql);
  }

  /**
   * Sends what is queued and waits, if need be, until the thread has run what was sent before the
   * previous call: the main thread works at most one step (a page of the log) ahead of the thread,
   * and the statements queued between them stay bounded.
   */
  keepUp(): Promise<void> {
    this.send();
    const until = this.sentAtLastKeepUp;
    this.sentAtLastKeepUp = this.sent;
    return this.acknowledgedUpTo(until);
  }

  /** Sends what is queued and waits until the thread has run all of it. */
  caughtUp(): Promise<void> {
    this.send();
    return this.acknowledgedUpTo(this.sent);
  }

  /** Runs what is queued, closes the database and ends the thread. */
  async close(): Promise<void> {
    await this.caughtUp();
    this.closing = true;
    this.post({ ops: [], close: true });
    await this.exited;
    if (this.failure) throw this.failure;
  }

  /** Ends the thread at once, whatever it was doing (after a failure, or an interruption). */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private acknowledgedUpTo(batch: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiter = { until: batch, resolve, reject };
      this.wakeWaiter();
    });
  }

  private queue(...values: unknown[]): void {
    this.ops.push(values[0], values.length - 1);
    for (let i = 1; i < values.length; i++) this.ops.push(values[i]);
    if (this.ops.length >= BATCH_VALUES) this.send();
  }

  private send(): void {
    this.post({ ops: this.ops, batch: ++this.sent });
    this.ops = [];
  }

  private post(message: Batch): void {
    this.worker.postMessage(message);
  }

  private read(id: number, mode: 'get' | 'all', params: unknown[]): unknown {
    if (this.failure) throw this.failure;
    // Ready for this read's answer, unless the thread has ended (it would never answer).
    Atomics.compareExchange(this.answered, 0, ANSWERED, 0);
    this.post({ ops: this.ops, read: [id, mode, params] });
    this.ops = [];
    // No time limit: the statements before the read may take long (building an index), and a
    // thread that ends says so.
    Atomics.wait(this.answered, 0, 0);
    if (Atomics.load(this.answered, 0) === ENDED) throw (this.failure ??= threadEnded());
    const { result, failure } = receiveMessageOnPort(this.answers)!.message as {
      result: unknown;
      failure: ErrorDescription | null;
    };
    if (failure !== null) throw (this.failure ??= toError(failure));
    return result;
  }

  private wakeWaiter(): void {
    const waiter = this.waiter;
    if (waiter === null) return;
    if (this.failure) waiter.reject(this.failure);
    else if (this.acknowledged >= waiter.until) waiter.resolve();
    else return;
    this.waiter = null;
  }
}

function threadEnded(): Error {
  return new Error('The rebuild’s SQLite thread ended');
}

function toError({ name, message, code }: ErrorDescription): Error {
  return Object.assign(new Error(message), { name, code });
}

/**
 * The thread's whole program. It runs from its source text (a worker given `eval`), so that it works
 * the same from the compiled dist and from the TypeScript that Jest runs: it may use nothing but
 * `require` and what it is given.
 */
function runStatements(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { driver, file, answered, answers, codes } = workerData as {
    driver: string;
    file: string;
    answered: Int32Array;
    answers: MessagePort;
    codes: { exec: number; prepare: number; answeredRead: number; ended: number };
  };
  const { exec, prepare } = codes;
  // However it ends (an uncaught error included), a read waiting for it must not wait forever.
  process.on('exit', () => {
    Atomics.store(answered, 0, codes.ended);
    Atomics.notify(answered, 0);
  });
  const Database = require(driver) as typeof import('better-sqlite3'); // eslint-disable-line @typescript-eslint/no-require-imports
  const db = new Database(file);
  const statements: import('better-sqlite3').Statement[] = [];
  let failure: ErrorDescription | null = null;
  const describe = (error: unknown): ErrorDescription => {
    const { name, message, code } = error as ErrorDescription;
    return { name: String(name), message: String(message), code };
  };
  // One array of parameters per count, filled again for each statement: cheaper than a slice each.
  const parametersOf: unknown[][] = [];
  const runAll = (ops: unknown[]) => {
    for (let i = 0; i < ops.length;) {
      const id = ops[i] as number;
      const count = ops[i + 1] as number;
      i += 2;
      if (id === exec) db.exec(ops[i] as string);
      else if (id === prepare) statements[ops[i] as number] = db.prepare(ops[i + 1] as string);
      else {
        const parameters = (parametersOf[count] ??= new Array(count));
        for (let k = 0; k < count; k++) parameters[k] = ops[i + k];
        statements[id].run(parameters);
      }
      i += count;
    }
  };
  parentPort!.on('message', ({ ops, batch, read, close }: Batch) => {
    if (failure === null) {
      try {
        runAll(ops);
      } catch (error) {
        failure = describe(error);
      }
    }
    if (read !== undefined) {
      let result: unknown = undefined;
      if (failure === null) {
        try {
          const [id, mode, params] = read;
          result = mode === 'get' ? statements[id].get(params) : statements[id].all(params);
        } catch (error) {
          failure = describe(error);
        }
      }
      answers.postMessage({ result, failure });
      Atomics.store(answered, 0, codes.answeredRead);
      Atomics.notify(answered, 0);
    }
    if (batch !== undefined) parentPort!.postMessage({ batch, failure });
    if (close) {
      db.close();
      parentPort!.close();
    }
  });
}

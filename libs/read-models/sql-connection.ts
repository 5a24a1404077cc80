/**
 * What the projections use of a SQLite connection: better-sqlite3's own, or a rebuild's
 * WorkerConnection, which runs the statements on another thread.
 */
export interface SqlConnection {
  prepare<Params extends unknown[] = unknown[], Row = unknown>(sql: string): SqlStatement<Params, Row>;
  exec(sql: string): unknown;
}

export interface SqlStatement<Params extends unknown[] = unknown[], Row = unknown> {
  run(...params: Params): unknown;
  get(...params: Params): Row | undefined;
  all(...params: Params): Row[];
}

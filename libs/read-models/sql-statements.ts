import type Database from 'better-sqlite3';

export type Parameter = string | number | null;

/** Prepared statements by SQL text, prepared once, with a count of the statements run. */
export class SqlStatements {
  private statementsRun = 0;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  /** SQL statements executed so far. */
  get count(): number {
    return this.statementsRun;
  }

  /** `parameters`: positional (?), or named (:name) by an object. */
  all<Row>(sql: string, parameters: Parameter[] | Record<string, Parameter>): Row[] {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    this.statementsRun += 1;
    return (Array.isArray(parameters) ? statement.all(...parameters) : statement.all(parameters)) as Row[];
  }
}

import type Database from 'better-sqlite3';

export type Parameter = string | number | null;

/** A WHERE clause built condition by condition, with its positional (?) parameters in order. */
export class WhereClause {
  readonly conditions: string[] = [];
  readonly parameters: Parameter[] = [];

  /** Adds `condition`, with the parameters of its `?`s. */
  and(condition: string, ...parameters: Parameter[]): this {
    this.conditions.push(condition);
    this.parameters.push(...parameters);
    return this;
  }

  /** A copy that conditions added later to either leave the other as it is. */
  copy(): WhereClause {
    const copy = new WhereClause();
    copy.conditions.push(...this.conditions);
    copy.parameters.push(...this.parameters);
    return copy;
  }

  /** `WHERE a AND b`, or nothing without conditions. */
  toString(): string {
    return this.conditions.length === 0 ? '' : `WHERE ${this.conditions.join(' AND ')}`;
  }
}

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

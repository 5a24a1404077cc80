import type Database from 'better-sqlite3';
import type { MaintenanceFilter, MaintenanceRecord } from './accountability.types.js';
import { SqlStatements, WhereClause } from './sql-statements.js';

/** The most maintenances one answer holds. */
export const MAX_MAINTENANCES = 500;

/** What the maintenance read model answers, by its window's start. */
export class MaintenanceQueries {
  private readonly statements: SqlStatements;

  constructor(db: Database.Database) {
    this.statements = new SqlStatements(db);
  }

  maintenance(id: string): MaintenanceRecord | null {
    const [row] = this.statements.all<{ record: string }>('SELECT record FROM maintenances WHERE id = ?', [
      id,
    ]);
    return row === undefined ? null : (JSON.parse(row.record) as MaintenanceRecord);
  }

  /** The maintenances matching the filter, the earliest window first, at most MAX_MAINTENANCES. */
  maintenances(filter: MaintenanceFilter): MaintenanceRecord[] {
    const where = new WhereClause();
    if (filter.statuses?.length)
      where.and('status IN (SELECT value FROM json_each(?))', JSON.stringify(filter.statuses));
    if (filter.service !== undefined) {
      where.and('id IN (SELECT maintenance_id FROM maintenance_services WHERE service = ?)', filter.service);
    }
    // Overlap of [start, end) with [windowFrom, windowTo).
    if (filter.windowTo !== undefined) where.and('window_start_ms < ?', Date.parse(filter.windowTo));
    if (filter.windowFrom !== undefined) where.and('window_end_ms > ?', Date.parse(filter.windowFrom));
    const rows = this.statements.all<{ record: string }>(
      `SELECT record FROM maintenances ${where} ORDER BY window_start_ms, id LIMIT ?`,
      [...where.parameters, MAX_MAINTENANCES],
    );
    return rows.map((row) => JSON.parse(row.record) as MaintenanceRecord);
  }
}

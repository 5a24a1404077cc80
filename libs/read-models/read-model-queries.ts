import type Database from 'better-sqlite3';
import { incidentStreamId, type ServiceImpact, type Visibility } from '../domain/index.js';
import type { StoredEvent } from '../event-store/index.js';
import { shownTo } from './projections/timeline-entry.js';
import { SqlStatements, WhereClause, type Parameter } from './sql-statements.js';
import type {
  CommunicationsLog,
  CustomerUpdateEntry,
  EtaRevision,
  IncidentFilter,
  IncidentPage,
  IncidentRecord,
  IncidentSort,
  PublicIncident,
  PublicMaintenance,
  PublicStatus,
  TimelineEntry,
  TimelineVisibility,
} from './read-model.types.js';
import type { MaintenanceRecord } from './accountability.types.js';

/** The most incidents one page holds, whatever `first` asks for. */
export const MAX_PAGE_SIZE = 100;

/** A cursor that no page of `incidents` handed out. */
export class InvalidCursorError extends Error {
  constructor(cursor: string, why = 'not a cursor of this query') {
    super(`Invalid cursor ${cursor}: ${why}`);
    this.name = 'InvalidCursorError';
  }
}

const SORTS: Record<IncidentSort, { column: string; direction: 'ASC' | 'DESC' }> = {
  DECLARED_DESC: { column: 'started_at', direction: 'DESC' },
  DECLARED_ASC: { column: 'started_at', direction: 'ASC' },
  UPDATED_DESC: { column: 'last_updated_at', direction: 'DESC' },
  UPDATED_ASC: { column: 'last_updated_at', direction: 'ASC' },
};

/** From least to most severe, for the worst impact per service on the status page. */
const IMPACT_RANK: Record<ServiceImpact, number> = {
  OPERATIONAL: 0,
  UNDER_MAINTENANCE: 1,
  DEGRADED_PERFORMANCE: 2,
  PARTIAL_OUTAGE: 3,
  MAJOR_OUTAGE: 4,
};

interface RecordRow {
  id: string;
  record: string;
}

interface TimelineRow {
  incident_id: string;
  version: number;
  position: string;
  type: string;
  visibility: Visibility;
  actor: string;
  recorded_at: string;
  occurred_at: string;
  backdated: number;
  data: string;
}

/** A timeline row with the rest of the envelope, for eventsOf. */
interface EventRow extends TimelineRow {
  event_id: string;
  schema_version: number;
  correlation_id: string;
  causation_id: string | null;
  idempotency_key: string | null;
  request_fingerprint: string | null;
  hash: string;
}

interface CustomerUpdateRow {
  incident_id: string;
  version: number;
  occurred_at: string;
  occurred_ms: number;
  recorded_at: string;
  actor: string;
  status: CustomerUpdateEntry['status'];
  message: string;
  channels: string;
  visibility: Visibility;
  next_update_at: string | null;
}

interface EtaRow {
  version: number;
  occurred_at: string;
  actor: string;
  previous_estimate: string | null;
  estimated_resolution_at: string;
  reason: string;
}

/**
 * What the read models answer. Every method runs a fixed number of SQL statements, whatever
 * the size of the answer (`queryCount` counts them), so that a GraphQL page of incidents with
 * their nested fields costs a bounded number of queries.
 */
export class ReadModelQueries {
  /** The incident filters make a few distinct statements. */
  private readonly statements: SqlStatements;

  constructor(db: Database.Database) {
    this.statements = new SqlStatements(db);
  }

  /** SQL statements executed so far. */
  get queryCount(): number {
    return this.statements.count;
  }

  incident(id: string): IncidentRecord | null {
    const [row] = this.all<RecordRow>('SELECT id, record FROM incident_records WHERE id = ?', [id]);
    return row === undefined ? null : parseRecord(row);
  }

  /** The incidents with these ids; ids of no incident are absent from the map. */
  incidentsByIds(ids: readonly string[]): Map<string, IncidentRecord> {
    const rows = this.all<RecordRow>(
      'SELECT id, record FROM incident_records WHERE id IN (SELECT value FROM json_each(?))',
      [JSON.stringify(ids)],
    );
    return new Map(rows.map((row) => [row.id, parseRecord(row)]));
  }

  /**
   * A page of the incidents that match `filter`, after `after` (a cursor of an earlier page).
   * Keyset pagination on (sort key, id): incidents declared meanwhile never make a page repeat
   * or skip one that existed when the first page was read. `first` is capped at MAX_PAGE_SIZE.
   */
  incidents(filter: IncidentFilter, sort: IncidentSort, first: number, after?: string): IncidentPage {
    const limit = Math.min(Math.max(Math.trunc(first), 0), MAX_PAGE_SIZE);
    const { column, direction } = SORTS[sort];
    const matching = filterClause(filter);
    const page = matching.copy();
    if (after !== undefined) {
      const [key, id] = decodeCursor(after, sort);
      page.and(`(${column}, id) ${direction === 'DESC' ? '<' : '>'} (?, ?)`, key, id);
    }
    // The page is chosen on the narrow rows, then joined to its records.
    const rows = this.all<RecordRow & { sort_key: number }>(
      `SELECT page.id, page.sort_key, incident_records.record
       FROM (SELECT id, ${column} AS sort_key FROM incidents ${page}
             ORDER BY ${column} ${direction}, id ${direction} LIMIT ?) AS page
       JOIN incident_records USING (id)
       ORDER BY page.sort_key ${direction}, page.id ${direction}`,
      [...page.parameters, limit + 1],
    );
    const [{ count }] = this.all<{ count: number }>(
      `SELECT COUNT(*) AS count FROM incidents ${matching}`,
      matching.parameters,
    );
    return {
      edges: rows.slice(0, limit).map((row) => ({
        cursor: encodeCursor(sort, row.sort_key, row.id),
        node: parseRecord(row),
      })),
      hasNextPage: rows.length > limit,
      totalCount: count,
    };
  }

  /**
   * The incident's events as readable entries, by occurredAt then version; [] for an unknown
   * incident. PUBLIC: the public entries, each with only the data customers may see.
   */
  timeline(incidentId: string, visibility: TimelineVisibility): TimelineEntry[] {
    const rows = this.all<TimelineRow>(
      // Only the columns an entry shows: building rows of every column takes half again as long.
      `SELECT incident_id, version, position, type, visibility, actor, recorded_at, occurred_at,
         backdated, data
       FROM timeline WHERE incident_id = ? AND (? = 'ALL' OR visibility = 'PUBLIC')
       ORDER BY occurred_ms, version`,
      [incidentId, visibility],
    );
    return rows.map((row) => ({
      incidentId: row.incident_id,
      version: row.version,
      position: row.position,
      type: row.type,
      visibility: row.visibility,
      ...shownTo(visibility, row.type, JSON.parse(row.data) as Record<string, unknown>),
      actor: row.actor,
      recordedAt: row.recorded_at,
      occurredAt: row.occurred_at,
      backdated: row.backdated === 1,
    }));
  }

  /** Every event of each incident, oldest first, as the event store holds them; [] for an unknown id. */
  eventsOf(incidentIds: readonly string[]): Map<string, StoredEvent[]> {
    const events = new Map<string, StoredEvent[]>(incidentIds.map((id) => [id, []]));
    const rows = this.all<EventRow>(
      `SELECT * FROM timeline WHERE incident_id IN (SELECT value FROM json_each(?))
       ORDER BY incident_id, version`,
      [JSON.stringify(incidentIds)],
    );
    for (const row of rows) events.get(row.incident_id)!.push(toStoredEvent(row));
    return events;
  }

  /**
   * Customer updates with the gaps between them (each since the previous one of its visibility),
   * and the ETA history; null for an unknown incident. PUBLIC: the public updates only.
   */
  communications(incidentId: string, visibility: TimelineVisibility): CommunicationsLog | null {
    const [incident] = this.all<{ started_at: number }>('SELECT started_at FROM incidents WHERE id = ?', [
      incidentId,
    ]);
    if (incident === undefined) return null;
    const updates = this.all<CustomerUpdateRow>(
      `SELECT * FROM customer_updates WHERE incident_id = ? AND (? = 'ALL' OR visibility = 'PUBLIC')
       ORDER BY occurred_ms, version`,
      [incidentId, visibility],
    );
    const etaHistory = this.all<EtaRow>(
      'SELECT * FROM eta_revisions WHERE incident_id = ? ORDER BY version',
      [incidentId],
    );
    const previous: Record<Visibility, number> = {
      PUBLIC: incident.started_at,
      INTERNAL: incident.started_at,
    };
    return {
      incidentId,
      updates: updates.map((row) => {
        const minutesSincePrevious = (row.occurred_ms - previous[row.visibility]) / 60_000;
        previous[row.visibility] = row.occurred_ms;
        return {
          version: row.version,
          occurredAt: row.occurred_at,
          recordedAt: row.recorded_at,
          actor: row.actor,
          status: row.status,
          message: row.message,
          channels: JSON.parse(row.channels) as CustomerUpdateEntry['channels'],
          visibility: row.visibility,
          nextUpdateAt: row.next_update_at,
          minutesSincePrevious,
        };
      }),
      etaHistory: etaHistory.map((row): EtaRevision => ({
        version: row.version,
        occurredAt: row.occurred_at,
        actor: row.actor,
        previousEstimate: row.previous_estimate,
        estimatedResolutionAt: row.estimated_resolution_at,
        reason: row.reason,
      })),
    };
  }

  /**
   * What a customer-facing status page shows: open incidents (newest first), those resolved
   * within `resolvedWithinHours` before `now` (latest first), and the worst impact per service
   * across the open ones. Only PUBLIC updates and active workarounds; no names, no notes.
   */
  publicStatus(now: string, resolvedWithinHours: number): PublicStatus {
    const since = instantMs(now) - resolvedWithinHours * 3_600_000;
    const open = this.all<RecordRow>(
      `SELECT id, record FROM incidents JOIN incident_records USING (id)
       WHERE open = 1 ORDER BY started_at DESC, id DESC`,
      [],
    ).map(parseRecord);
    const resolved = this.all<RecordRow>(
      `SELECT id, record FROM incidents JOIN incident_records USING (id)
       WHERE resolved_at >= ? AND open = 0 ORDER BY resolved_at DESC, id DESC`,
      [since],
    ).map(parseRecord);
    const updates = this.publicUpdates([...open, ...resolved].map((record) => record.id!));
    // An overrunning maintenance stays in progress past its window's end.
    const maintenances = this.all<{ record: string }>(
      `SELECT record FROM maintenances
       WHERE status = 'IN_PROGRESS' OR (status = 'SCHEDULED' AND window_end_ms > ?)
       ORDER BY window_start_ms, id`,
      [instantMs(now)],
    ).map((row) => toPublicMaintenance(JSON.parse(row.record) as MaintenanceRecord));
    const worst = new Map<string, ServiceImpact>();
    const raise = (service: string, impact: ServiceImpact) => {
      const current = worst.get(service);
      if (current === undefined || IMPACT_RANK[impact] > IMPACT_RANK[current]) worst.set(service, impact);
    };
    for (const record of open) {
      for (const [service, impact] of Object.entries(record.services)) raise(service, impact);
    }
    for (const maintenance of maintenances) {
      if (maintenance.status === 'IN_PROGRESS') {
        for (const service of maintenance.services) raise(service, 'UNDER_MAINTENANCE');
      }
    }
    const toPublic = (record: IncidentRecord) => toPublicIncident(record, updates.get(record.id!) ?? []);
    return {
      services: [...worst]
        .sort(([a], [b]) => compare(a, b))
        .map(([service, impact]) => ({ service, impact })),
      maintenances,
      openIncidents: open.map(toPublic),
      recentlyResolved: resolved.map(toPublic),
    };
  }

  private publicUpdates(incidentIds: string[]): Map<string, PublicIncident['updates']> {
    const rows = this.all<CustomerUpdateRow>(
      `SELECT * FROM customer_updates
       WHERE incident_id IN (SELECT value FROM json_each(?)) AND visibility = 'PUBLIC'
       ORDER BY incident_id, occurred_ms, version`,
      [JSON.stringify(incidentIds)],
    );
    const updates = new Map<string, PublicIncident['updates']>();
    for (const row of rows) {
      const list = updates.get(row.incident_id) ?? [];
      list.push({ status: row.status, message: row.message, occurredAt: row.occurred_at });
      updates.set(row.incident_id, list);
    }
    return updates;
  }

  private all<Row>(sql: string, parameters: Parameter[]): Row[] {
    return this.statements.all<Row>(sql, parameters);
  }
}

function filterClause(filter: IncidentFilter): WhereClause {
  const where = new WhereClause();
  // An empty list means no constraint, like an absent one.
  if (filter.statuses?.length)
    where.and('status IN (SELECT value FROM json_each(?))', JSON.stringify(filter.statuses));
  if (filter.severities?.length) {
    where.and('severity IN (SELECT value FROM json_each(?))', JSON.stringify(filter.severities));
  }
  if (filter.service !== undefined) {
    where.and('id IN (SELECT incident_id FROM incident_services WHERE service = ?)', filter.service);
  }
  if (filter.open !== undefined) where.and('open = ?', filter.open ? 1 : 0);
  if (filter.declaredFrom !== undefined) where.and('started_at >= ?', instantMs(filter.declaredFrom));
  if (filter.declaredTo !== undefined) where.and('started_at < ?', instantMs(filter.declaredTo));
  // A substring can use no index: this one scans the incidents the other conditions leave.
  if (filter.titleContains) where.and('instr(title_lower, ?) > 0', filter.titleContains.toLowerCase());
  return where;
}

/** A position in one sort's order: the sort is in it, so that another sort cannot misread it. */
function encodeCursor(sort: IncidentSort, sortKey: number, id: string): string {
  return Buffer.from(JSON.stringify([sort, sortKey, id])).toString('base64url');
}

function decodeCursor(cursor: string, sort: IncidentSort): [number, string] {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    // Not JSON: reported below like any other malformed cursor.
  }
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 3 ||
    typeof decoded[0] !== 'string' ||
    !Object.hasOwn(SORTS, decoded[0]) ||
    !Number.isSafeInteger(decoded[1]) ||
    typeof decoded[2] !== 'string'
  ) {
    throw new InvalidCursorError(cursor);
  }
  if (decoded[0] !== sort) {
    throw new InvalidCursorError(cursor, `it is a position in the ${decoded[0]} order, not ${sort}`);
  }
  return [decoded[1], decoded[2]];
}

function instantMs(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`${iso} is not an ISO-8601 instant`);
  return ms;
}

function parseRecord(row: RecordRow): IncidentRecord {
  return JSON.parse(row.record) as IncidentRecord;
}

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: JSON.parse(row.data) as Record<string, unknown>,
    occurredAt: row.occurred_at,
    actor: row.actor,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    idempotencyKey: row.idempotency_key,
    requestFingerprint: row.request_fingerprint,
    streamId: incidentStreamId(row.incident_id),
    streamVersion: row.version,
    globalPosition: BigInt(row.position),
    recordedAt: row.recorded_at,
    hash: row.hash,
  };
}

function toPublicIncident(record: IncidentRecord, updates: PublicIncident['updates']): PublicIncident {
  const resolved = record.resolvedAt !== null;
  return {
    id: record.id!,
    title: record.title,
    status: record.status,
    severity: record.severity,
    startedAt: record.startedAt!,
    resolvedAt: record.resolvedAt,
    estimatedResolutionAt: record.estimatedResolutionAt,
    services: Object.entries(record.services)
      .sort(([a], [b]) => compare(a, b))
      .map(([service, impact]) => ({ service, impact: resolved ? 'OPERATIONAL' : impact })),
    workarounds: record.workarounds
      .filter((workaround) => !resolved && workaround.withdrawnAt === null)
      .map(({ description, offeredAt }) => ({ description, offeredAt })),
    updates,
  };
}

function toPublicMaintenance(record: MaintenanceRecord): PublicMaintenance {
  const { id, title, status, windowStart, windowEnd, services } = record;
  return { id, title, status, windowStart: windowStart!, windowEnd: windowEnd!, services };
}

/** Code-point order, the same on every machine (localeCompare is not). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

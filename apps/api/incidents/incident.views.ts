import type { IncidentRole, IncidentState } from '../../../libs/domain/index.js';
import type { StoredEvent } from '../../../libs/event-store/index.js';
import { isBackdated, type IncidentRecord } from '../../../libs/read-models/index.js';
import type { Incident, IncidentEvent } from './incident.types.js';
import { toPostIncidentView } from './post-incident.views.js';

type IncidentRecordExtras = Omit<IncidentRecord, keyof IncidentState>;

const minutesBetween = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 60_000;

/**
 * An existing incident as the GraphQL Incident type shows it: from the read model's record, or
 * from the write side's state (which lacks what only the read model knows: those are null).
 */
export function toIncidentView(state: IncidentState & Partial<IncidentRecordExtras>, now: string): Incident {
  const startedAt = state.startedAt!;
  return {
    id: state.id!,
    title: state.title,
    summary: state.summary,
    status: state.status,
    severity: state.severity,
    version: state.version,
    services: Object.entries(state.services).map(([service, impact]) => ({ service, impact })),
    roles: Object.entries(state.roles).map(([role, assignee]) => ({
      role: role as IncidentRole,
      assignee: assignee!,
    })),
    startedAt,
    declaredBy: state.declaredBy!,
    acknowledgedAt: state.acknowledgedAt,
    acknowledgedBy: state.acknowledgedBy,
    estimatedResolutionAt: state.estimatedResolutionAt,
    etaRevisions: state.etaRevisions,
    workarounds: state.workarounds.map((workaround) => ({
      ...workaround,
      active: workaround.withdrawnAt === null,
    })),
    lastCustomerUpdateAt: state.lastCustomerUpdateAt,
    nextUpdateDueAt: state.nextUpdateDueAt,
    mitigatedAt: state.mitigatedAt,
    resolvedAt: state.resolvedAt,
    resolutionSummary: state.resolutionSummary,
    reopenCount: state.reopenCount,
    lastUpdatedAt: state.lastUpdatedAt ?? null,
    customerUpdateCount: state.customerUpdateCount ?? null,
    minutesToAcknowledge: state.acknowledgedAt ? minutesBetween(startedAt, state.acknowledgedAt) : null,
    minutesToMitigate: state.mitigatedOrResolvedAt
      ? minutesBetween(startedAt, state.mitigatedOrResolvedAt)
      : null,
    minutesOpen: minutesBetween(startedAt, state.resolvedAt ?? now),
    ...toPostIncidentView(state, now),
  };
}

export function toEventView(event: StoredEvent): IncidentEvent {
  return {
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    streamId: event.streamId,
    version: event.streamVersion,
    position: event.globalPosition.toString(),
    actor: event.actor,
    recordedAt: event.recordedAt,
    occurredAt: event.occurredAt,
    backdated: isBackdated(Date.parse(event.occurredAt), event.recordedAt),
    correlationId: event.correlationId,
    causationId: event.causationId,
    idempotencyKey: event.idempotencyKey,
    requestFingerprint: event.requestFingerprint,
    data: event.data,
    hash: event.hash,
  };
}

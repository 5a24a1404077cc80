import type {
  IncidentEvent,
  IncidentEventType,
  RecordedIncidentEvent,
  Visibility,
} from '../../domain/index.js';
import type { TimelineEntry } from '../read-model.types.js';
import type { StoredEvent } from '../../event-store/index.js';
import { asIncidentEvent, type IncidentStreamEvent } from './incident-stream-event.js';

/**
 * How much earlier than recordedAt an occurredAt must be for the entry to count as backdated.
 * The API reads its clock for occurredAt before the command runs and the store stamps recordedAt
 * when it commits, so every event is a little "earlier"; queued or retried commands by seconds.
 */
export const BACKDATED_AFTER_MS = 60_000;

/** Entered after the fact: occurredAt more than BACKDATED_AFTER_MS before recordedAt. */
export function isBackdated(occurredMs: number, recordedAt: string): boolean {
  return Date.parse(recordedAt) - occurredMs > BACKDATED_AFTER_MS;
}

/**
 * An incident event as a readable timeline entry: the timeline read model stores these, and the
 * CLI's replay prints them from the event store.
 */
export function toTimelineEntry({
  incidentId,
  stored,
  event,
  occurredMs,
}: IncidentStreamEvent): TimelineEntry {
  const { description, visibility } =
    event === null
      ? { description: `${stored.type} (not described by this release)`, visibility: 'INTERNAL' as const }
      : describe(event);
  return {
    incidentId,
    version: stored.streamVersion,
    position: stored.globalPosition.toString(),
    type: stored.type,
    visibility,
    description,
    actor: stored.actor,
    recordedAt: stored.recordedAt,
    occurredAt: stored.occurredAt,
    backdated: isBackdated(occurredMs, stored.recordedAt),
    data: stored.data,
  };
}

/**
 * PUBLIC entries are what customers were told or could see: IncidentDeclared, StatusChanged,
 * CustomerUpdatePublished with visibility PUBLIC, ResolutionEstimateSet, WorkaroundOffered,
 * WorkaroundWithdrawn, IncidentResolved, IncidentReopened, ServiceImpactChanged,
 * PostmortemPublished (its customer explanation) and IncidentClosed.
 * Everything else is INTERNAL: IncidentAcknowledged, RoleAssigned, SeverityChanged,
 * InternalNoteAdded, IncidentMitigated, INTERNAL customer updates, root causes, preventive
 * measures, compensation grants, customer feedback, and types this release does not know.
 */
function describe(event: RecordedIncidentEvent): { description: string; visibility: Visibility } {
  const shown = (description: string) => ({ description, visibility: 'PUBLIC' as const });
  const internal = (description: string) => ({ description, visibility: 'INTERNAL' as const });
  switch (event.type) {
    case 'IncidentDeclared': {
      const { severity, title, services } = event.data;
      const affected = services.length === 0 ? '' : ` (affects ${services.join(', ')})`;
      return shown(`Incident declared at ${severity}: ${title}${affected}`);
    }
    case 'IncidentAcknowledged':
      return internal('Acknowledged');
    case 'RoleAssigned':
      return internal(`${event.data.assignee} assigned as ${words(event.data.role)}`);
    case 'SeverityChanged': {
      const { from, to, reason } = event.data;
      return internal(`Severity changed from ${from} to ${to}${reason === null ? '' : ` (${reason})`}`);
    }
    case 'ServiceImpactChanged': {
      const { service, from, to } = event.data;
      return shown(
        from === null
          ? `Impact on ${service} set to ${words(to)}`
          : `Impact on ${service} changed from ${words(from)} to ${words(to)}`,
      );
    }
    case 'StatusChanged':
      return shown(`Status changed from ${event.data.from} to ${event.data.to}`);
    case 'CustomerUpdatePublished': {
      const { status, channels, message, visibility } = event.data;
      const audience = visibility === 'PUBLIC' ? 'Customer update' : 'Internal update';
      return { description: `${audience} (${status}) via ${channels.join(', ')}: ${message}`, visibility };
    }
    case 'InternalNoteAdded':
      return internal(`Note: ${event.data.note}`);
    case 'ResolutionEstimateSet': {
      const { estimatedResolutionAt, previousEstimate, reason } = event.data;
      const was = previousEstimate === null ? '' : ` (was ${previousEstimate})`;
      return shown(`Resolution estimate set to ${estimatedResolutionAt}${was}: ${reason}`);
    }
    case 'WorkaroundOffered':
      return shown(`Workaround offered: ${event.data.description}`);
    case 'WorkaroundWithdrawn': {
      const { workaroundId, reason } = event.data;
      return shown(`Workaround ${workaroundId} withdrawn${reason === null ? '' : `: ${reason}`}`);
    }
    case 'IncidentMitigated':
      return internal(`Mitigated${event.data.summary === null ? '' : `: ${event.data.summary}`}`);
    case 'IncidentResolved':
      return shown(`Resolved: ${event.data.summary}`);
    case 'IncidentReopened':
      return shown(`Reopened: ${event.data.reason}`);
    case 'RootCauseIdentified':
      return internal(`Root cause identified (${words(event.data.category)}): ${event.data.description}`);
    case 'RootCauseRevised': {
      const { category, description, reason } = event.data;
      return internal(`Root cause revised (${words(category)}): ${description} (${reason})`);
    }
    case 'PreventiveMeasurePlanned': {
      const { title, kind, priority, owner, dueDate } = event.data;
      return internal(
        `Preventive measure planned (${priority}, ${words(kind)}): ${title}; owner ${owner}, due ${dueDate}`,
      );
    }
    case 'PreventiveMeasureStarted':
      return internal(`Preventive measure ${event.data.measureId} started`);
    case 'PreventiveMeasureCompleted':
      return internal(`Preventive measure ${event.data.measureId} completed: ${event.data.evidence}`);
    case 'PreventiveMeasureCancelled':
      return internal(`Preventive measure ${event.data.measureId} cancelled: ${event.data.reason}`);
    case 'PostmortemPublished':
      return shown(`Postmortem published: ${event.data.customerExplanation}`);
    case 'CompensationGranted': {
      const { segment, customerId, creditPercent, amount, currency, justification } = event.data;
      const to = segment === null ? `customer ${customerId}` : `the ${segment} segment`;
      const value = creditPercent === null ? `${amount} ${currency}` : `a ${creditPercent}% credit`;
      return internal(
        `Compensation granted to ${to}: ${value}${justification === null ? '' : ` (${justification})`}`,
      );
    }
    case 'CustomerFeedbackReceived': {
      const { rating, channel, comment } = event.data;
      return internal(
        `Customer feedback via ${channel}: ${rating}/5${comment === null ? '' : `: ${comment}`}`,
      );
    }
    case 'IncidentClosed':
      return shown('Closed');
    default: {
      const unknown: never = event;
      throw new Error(`Unknown incident event ${JSON.stringify(unknown)}`);
    }
  }
}

/** The visibility of the event's timeline entry: PUBLIC or INTERNAL, by its type and data. */
export function visibilityOf(stored: StoredEvent): Visibility {
  const event = asIncidentEvent(stored);
  return event === null ? 'INTERNAL' : describe(event).visibility;
}

type DataOf<T extends IncidentEventType> = Extract<IncidentEvent, { type: T }>['data'];

/**
 * What customers may see of a PUBLIC entry's data: the fields its description shows. The rest
 * (a declaration's summary, a postmortem's narrative and lessons) is for the ALL timeline.
 */
const PUBLIC_FIELDS: { [T in IncidentEventType]?: ReadonlyArray<keyof DataOf<T>> } = {
  IncidentDeclared: ['incidentId', 'title', 'severity', 'services'],
  ServiceImpactChanged: ['service', 'from', 'to'],
  StatusChanged: ['from', 'to'],
  CustomerUpdatePublished: ['status', 'message', 'channels', 'visibility', 'nextUpdateAt'],
  ResolutionEstimateSet: ['estimatedResolutionAt', 'previousEstimate', 'reason'],
  WorkaroundOffered: ['workaroundId', 'description'],
  WorkaroundWithdrawn: ['workaroundId', 'reason'],
  IncidentResolved: ['summary'],
  IncidentReopened: ['reason'],
  PostmortemPublished: ['customerExplanation'],
  IncidentClosed: [],
};

/** The data of a PUBLIC timeline entry as the PUBLIC timeline shows it. */
export function publicData(type: string, data: Record<string, unknown>): Record<string, unknown> {
  const fields = (PUBLIC_FIELDS[type as IncidentEventType] ?? []) as readonly string[];
  return Object.fromEntries(fields.filter((field) => field in data).map((field) => [field, data[field]]));
}

/** MAJOR_OUTAGE → "major outage". */
function words(constant: string): string {
  return constant.toLowerCase().replaceAll('_', ' ');
}

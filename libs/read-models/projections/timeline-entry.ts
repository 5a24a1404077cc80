import type {
  IncidentEvent,
  IncidentEventType,
  RecordedIncidentEvent,
  Visibility,
} from '../../domain/index.js';
import type { TimelineEntry, TimelineVisibility } from '../read-model.types.js';
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
 * An incident event as its entry of the ALL timeline: the CLI's replay prints these from the
 * event store. The timeline read model stores the entries without their descriptions, which are
 * written when read, for the audience reading (`shownTo`).
 */
export function toTimelineEntry({ incidentId, stored, occurredMs }: IncidentStreamEvent): TimelineEntry {
  return {
    incidentId,
    version: stored.streamVersion,
    position: stored.globalPosition.toString(),
    type: stored.type,
    visibility: visibilityOf(stored),
    description: shownTo('ALL', stored.type, stored.data).description,
    actor: stored.actor,
    recordedAt: stored.recordedAt,
    occurredAt: stored.occurredAt,
    backdated: isBackdated(occurredMs, stored.recordedAt),
    data: stored.data,
  };
}

/**
 * An entry's description and data as the audience sees them. The PUBLIC timeline's description is
 * written from the public fields alone, so that nothing internal can show through its text (a
 * severity change's reason, say).
 */
export function shownTo(
  audience: TimelineVisibility,
  type: string,
  data: Record<string, unknown>,
): { description: string; data: Record<string, unknown> } {
  const shownData = audience === 'PUBLIC' ? publicData(type, data) : data;
  const event = asIncidentEvent({ type, data: shownData });
  return {
    description: event === null ? `${type} (not described by this release)` : describedOrNot(event),
    data: shownData,
  };
}

/**
 * The event's sentence; a note instead when its data cannot be described (a store changed outside
 * the ledger, which `verify` reports): the history around it stays readable.
 */
function describedOrNot(event: RecordedIncidentEvent): string {
  try {
    return describe(event);
  } catch {
    return `${event.type} (its data cannot be described)`;
  }
}

/** What happened, in a sentence, from the event's data (the fields a PUBLIC entry shows suffice). */
function describe(event: RecordedIncidentEvent): string {
  switch (event.type) {
    case 'IncidentDeclared': {
      const { severity, title, services } = event.data;
      const affected = services.length === 0 ? '' : ` (affects ${services.join(', ')})`;
      return `Incident declared at ${severity}: ${title}${affected}`;
    }
    case 'IncidentAcknowledged':
      return 'Acknowledged';
    case 'RoleAssigned':
      return `${event.data.assignee} assigned as ${words(event.data.role)}`;
    case 'SeverityChanged': {
      // The reason is not among the PUBLIC timeline's data.
      const { from, to, reason = null } = event.data;
      return `Severity changed from ${from} to ${to}${reason === null ? '' : ` (${reason})`}`;
    }
    case 'ServiceImpactChanged': {
      const { service, from, to } = event.data;
      return from === null
        ? `Impact on ${service} set to ${words(to)}`
        : `Impact on ${service} changed from ${words(from)} to ${words(to)}`;
    }
    case 'StatusChanged':
      return `Status changed from ${event.data.from} to ${event.data.to}`;
    case 'CustomerUpdatePublished': {
      const { status, channels, message, visibility } = event.data;
      const audience = visibility === 'PUBLIC' ? 'Customer update' : 'Internal update';
      return `${audience} (${status}) via ${channels.join(', ')}: ${message}`;
    }
    case 'InternalNoteAdded':
      return `Note: ${event.data.note}`;
    case 'ResolutionEstimateSet': {
      const { estimatedResolutionAt, previousEstimate, reason } = event.data;
      const was = previousEstimate === null ? '' : ` (was ${previousEstimate})`;
      return `Resolution estimate set to ${estimatedResolutionAt}${was}: ${reason}`;
    }
    case 'WorkaroundOffered':
      return `Workaround offered: ${event.data.description}`;
    case 'WorkaroundWithdrawn': {
      const { workaroundId, reason } = event.data;
      return `Workaround ${workaroundId} withdrawn${reason === null ? '' : `: ${reason}`}`;
    }
    case 'IncidentMitigated':
      return `Mitigated${event.data.summary === null ? '' : `: ${event.data.summary}`}`;
    case 'IncidentResolved':
      return `Resolved: ${event.data.summary}`;
    case 'IncidentReopened':
      return `Reopened: ${event.data.reason}`;
    case 'RootCauseIdentified':
      return `Root cause identified (${words(event.data.category)}): ${event.data.description}`;
    case 'RootCauseRevised': {
      const { category, description, reason } = event.data;
      return `Root cause revised (${words(category)}): ${description} (${reason})`;
    }
    case 'PreventiveMeasurePlanned': {
      const { title, kind, priority, owner, dueDate } = event.data;
      return `Preventive measure planned (${priority}, ${words(kind)}): ${title}; owner ${owner}, due ${dueDate}`;
    }
    case 'PreventiveMeasureStarted':
      return `Preventive measure ${event.data.measureId} started`;
    case 'PreventiveMeasureCompleted':
      return `Preventive measure ${event.data.measureId} completed: ${event.data.evidence}`;
    case 'PreventiveMeasureCancelled':
      return `Preventive measure ${event.data.measureId} cancelled: ${event.data.reason}`;
    case 'PostmortemPublished':
      return `Postmortem published: ${event.data.customerExplanation}`;
    case 'CompensationGranted': {
      const { segment, customerId, creditPercent, amount, currency, justification } = event.data;
      const to = segment === null ? `customer ${customerId}` : `the ${segment} segment`;
      const value = creditPercent === null ? `${amount} ${currency}` : `a ${creditPercent}% credit`;
      return `Compensation granted to ${to}: ${value}${justification === null ? '' : ` (${justification})`}`;
    }
    case 'CustomerFeedbackReceived': {
      const { rating, channel, comment } = event.data;
      return `Customer feedback via ${channel}: ${rating}/5${comment === null ? '' : `: ${comment}`}`;
    }
    case 'IncidentClosed':
      return 'Closed';
    default: {
      const unknown: never = event;
      throw new Error(`Unknown incident event ${JSON.stringify(unknown)}`);
    }
  }
}

type DataOf<T extends IncidentEventType> = Extract<IncidentEvent, { type: T }>['data'];

/**
 * The types whose entries are PUBLIC, what customers were told or could see (a customer update
 * only when published PUBLIC), and what customers may see of their data: the fields the
 * description needs. The rest (a declaration's summary, a severity change's reason, a postmortem's
 * narrative and lessons) is for the ALL timeline. Every other entry is INTERNAL: acknowledgements,
 * role assignments, internal notes, mitigations, root causes, preventive measures, compensation
 * grants, customer feedback, and types this release does not know.
 */
const PUBLIC_FIELDS: { [T in IncidentEventType]?: ReadonlyArray<keyof DataOf<T>> } = {
  IncidentDeclared: ['incidentId', 'title', 'severity', 'services'],
  SeverityChanged: ['from', 'to'],
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

/** The visibility of the event's timeline entry: PUBLIC or INTERNAL, by its type and data. */
export function visibilityOf({ type, data }: Pick<StoredEvent, 'type' | 'data'>): Visibility {
  if (!Object.hasOwn(PUBLIC_FIELDS, type)) return 'INTERNAL';
  return type === 'CustomerUpdatePublished' && data.visibility !== 'PUBLIC' ? 'INTERNAL' : 'PUBLIC';
}

/** The data of a PUBLIC timeline entry as the PUBLIC timeline shows it. */
export function publicData(type: string, data: Record<string, unknown>): Record<string, unknown> {
  const fields = (PUBLIC_FIELDS[type as IncidentEventType] ?? []) as readonly string[];
  return Object.fromEntries(fields.filter((field) => field in data).map((field) => [field, data[field]]));
}

/** MAJOR_OUTAGE → "major outage". */
function words(constant: string): string {
  return constant.toLowerCase().replaceAll('_', ' ');
}

import { randomUUID } from 'node:crypto';
import {
  decide,
  decideMaintenance,
  evolve,
  evolveMaintenance,
  evolveStored,
  incidentStreamId,
  initialIncidentState,
  initialMaintenanceState,
  maintenanceStreamId,
  RuleViolation,
  type Channel,
  type CommandMetadata,
  type IncidentCommand,
  type IncidentRole,
  type IncidentState,
  type IncidentStatus,
  type MaintenanceCommand,
  type PreventiveMeasureKind,
  type PreventiveMeasurePriority,
  type RootCauseCategory,
  type ServiceImpact,
  type Severity,
} from '../../domain/index.js';
import type { EventStore, NewEvent } from '../../event-store/index.js';

export interface HistoryOptions {
  seed: number;
  /** Stop once at least this many incident events are appended (the maintenance ones come on top). */
  events: number;
  /** How many incidents are open at once; new ones are declared to keep it so. */
  openIncidents?: number;
  /** Whether incidents get resolved (and sometimes reopened); default true. */
  resolve?: boolean;
}

export interface GeneratedHistory {
  /** Every incident declared. */
  incidentIds: string[];
  /** Incident events appended. */
  events: number;
}

const ACTORS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
const SERVICES = ['api', 'web', 'checkout', 'search', 'payments', 'auth', 'email', 'mobile'];
const SEVERITIES: Severity[] = ['SEV1', 'SEV2', 'SEV3', 'SEV4'];
const OPEN_STATUSES: IncidentStatus[] = ['INVESTIGATING', 'IDENTIFIED', 'MONITORING'];
const IMPACTS: ServiceImpact[] = [
  'OPERATIONAL',
  'DEGRADED_PERFORMANCE',
  'PARTIAL_OUTAGE',
  'MAJOR_OUTAGE',
  'UNDER_MAINTENANCE',
];
const CHANNELS: Channel[] = ['EMAIL', 'SMS', 'SOCIAL', 'WEBSITE', 'IN_APP', 'WEBHOOK'];
const ROLES: IncidentRole[] = ['INCIDENT_COMMANDER', 'COMMUNICATIONS_LEAD', 'TECHNICAL_LEAD', 'SCRIBE'];
const ROOT_CAUSE_CATEGORIES: RootCauseCategory[] = ['CHANGE_DEPLOY', 'CONFIGURATION', 'CAPACITY', 'NETWORK'];
const MEASURE_KINDS: PreventiveMeasureKind[] = ['PREVENT', 'DETECT', 'MITIGATE', 'PROCESS'];
const MEASURE_PRIORITIES: PreventiveMeasurePriority[] = ['P1', 'P2', 'P3', 'P4'];
const MEASURE_DUE_IN_MS = [60_000, 3_600_000, 7 * 86_400_000, 30 * 86_400_000];
/** Segments of the current compensation policy, and one it does not know (refused). */
const SEGMENTS = ['ENTERPRISE', 'BUSINESS', 'STANDARD', 'UNKNOWN'];
const WORDS = [
  'Elevated',
  'errors',
  'latency',
  'in',
  'checkout',
  'login',
  'failures',
  'timeouts',
  'EU',
  'US',
];
/** Incidents written concurrently per round, so that the store group-commits them. */
const ROUND_SIZE = 32;

/** A small deterministic PRNG (mulberry32): the same seed gives the same history. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Appends a realistic history made by the domain's `decide`: incidents declared (some backdated),
 * acknowledged, escalated, updated on several channels, re-estimated, worked around, mitigated,
 * resolved and sometimes reopened, analysed (root causes, preventive measures), given a
 * postmortem, compensation and feedback, and closed, with some entries backdated; and a few
 * maintenance streams (scheduled, rescheduled, started and completed, or cancelled).
 */
export async function generateHistory(store: EventStore, options: HistoryOptions): Promise<GeneratedHistory> {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const openIncidents = options.openIncidents ?? 40;
  const states = new Map<string, IncidentState>();
  const active: string[] = [];
  let events = 0;

  while (events < options.events) {
    while (active.length < openIncidents) {
      const id = uuid(random);
      states.set(id, initialIncidentState());
      active.push(id);
    }
    const round = [...new Set(Array.from({ length: ROUND_SIZE }, () => pick(active)))];
    await Promise.all(
      round.map(async (id) => {
        const command = nextCommand(states.get(id)!, id, random, pick, options.resolve ?? true);
        if (command === null) return;
        try {
          const { state, appended } = await executeCommand(store, id, command, states.get(id)!);
          states.set(id, state);
          events += appended;
        } catch (error) {
          // The generator asked for something the rules refuse (an unchanged ETA…): skip it.
          if (!(error instanceof RuleViolation)) throw error;
        }
      }),
    );
    for (const id of round) {
      const state = states.get(id)!;
      // Closed incidents are done; resolved ones get some post-incident work first.
      if (state.closedAt !== null || (state.resolvedAt !== null && random() < 0.25)) {
        active.splice(active.indexOf(id), 1);
      }
    }
    if (random() < 0.06) await scheduleMaintenance(store, uuid(random), random, pick);
  }
  const declared = [...states].filter(([, state]) => state.exists);
  return { incidentIds: declared.map(([id]) => id), events };
}

function nextCommand(
  state: IncidentState,
  incidentId: string,
  random: () => number,
  pick: <T>(items: readonly T[]) => T,
  resolve: boolean,
): IncidentCommand | null {
  const now = new Date().toISOString();
  if (!state.exists) {
    // A third of the incidents are declared after the fact, up to three hours late.
    const late = random() < 0.3 ? (2 + random() * 178) * 60_000 : 0;
    const services = [...new Set([pick(SERVICES), pick(SERVICES)])].slice(0, Math.floor(random() * 3));
    return {
      type: 'DeclareIncident',
      data: {
        incidentId,
        title: Array.from({ length: 3 + Math.floor(random() * 3) }, () => pick(WORDS)).join(' '),
        severity: pick(SEVERITIES),
        summary: random() < 0.5 ? 'Customers report failures' : null,
        services,
      },
      metadata: { actor: pick(ACTORS), occurredAt: new Date(Date.parse(now) - late).toISOString(), now },
    };
  }
  // Some entries are written after the fact: anywhere between the start (the resolution, for
  // what comes after it) and now; those the rules keep in order (severity, status, estimate,
  // mitigation, resolution), after the latest entry they are ordered by; those about an item (a
  // workaround, a root cause, a preventive measure), also after the item's own latest dated entry.
  const backdatedBy = random() < 0.15 ? random() : null;
  const actor = pick(ACTORS);
  // Up to `now`, not the clock: a clock read later could land after `now`, in the future the domain refuses.
  const metadataFrom = (from: number): CommandMetadata => ({
    actor,
    occurredAt:
      backdatedBy === null ? now : new Date(from + backdatedBy * (Date.parse(now) - from)).toISOString(),
    now,
  });
  /** Not before the start (the resolution, once resolved), nor before any of `entries` (null: none). */
  const metadataAfter = (...entries: (string | null)[]): CommandMetadata =>
    metadataFrom(latestAt(state.resolvedAt ?? state.startedAt, ...entries));
  const metadata = metadataAfter();
  if (random() < 0.15) return analysisCommand(state, metadataAfter, random, pick);
  if (state.resolvedAt !== null) return afterResolutionCommand(metadata, random, pick);
  const orderedMetadata = metadataFrom(latestOrderedEntryAt(state));
  const roll = random();
  if (state.acknowledgedAt === null && roll < 0.5) return { type: 'AcknowledgeIncident', data: {}, metadata };
  if (resolve && state.version > 6 && roll < 0.1) {
    return {
      type: 'ResolveIncident',
      data: { summary: 'Rolled back the deploy' },
      metadata: orderedMetadata,
    };
  }
  const active = state.workarounds.filter((workaround) => workaround.withdrawnAt === null);
  switch (Math.floor(random() * 10)) {
    case 0:
      return { type: 'AssignRole', data: { role: pick(ROLES), assignee: pick(ACTORS) }, metadata };
    case 1:
      return {
        type: 'ChangeSeverity',
        data: { severity: pick(SEVERITIES), reason: 'Impact reassessed' },
        metadata: orderedMetadata,
      };
    case 2:
      return {
        type: 'ChangeServiceImpact',
        data: { service: pick(SERVICES), impact: pick(IMPACTS) },
        metadata,
      };
    case 3:
    case 4:
      return {
        type: 'PostStatusUpdate',
        data: {
          status: pick(OPEN_STATUSES),
          message: `Update ${state.version}: we are working on it`,
          channels: [...new Set([pick(CHANNELS), pick(CHANNELS), pick(CHANNELS)])],
          visibility: random() < 0.8 ? 'PUBLIC' : 'INTERNAL',
          nextUpdateInMinutes: random() < 0.7 ? pick([15, 30, 60]) : null,
        },
        metadata: orderedMetadata,
      };
    case 5:
      return { type: 'AddInternalNote', data: { note: `Checked dashboard ${state.version}` }, metadata };
    case 6:
      return {
        type: 'SetResolutionEstimate',
        data: {
          estimatedResolutionAt: new Date(
            Date.now() + (10 + Math.floor(random() * 600)) * 60_000,
          ).toISOString(),
          reason: state.estimatedResolutionAt === null ? 'First estimate' : 'Fix took longer',
        },
        metadata: orderedMetadata,
      };
    case 7: {
      if (active.length > 0 && random() < 0.5) {
        const { workaroundId, offeredAt } = pick(active);
        return {
          type: 'WithdrawWorkaround',
          data: { workaroundId, reason: null },
          metadata: metadataAfter(offeredAt),
        };
      }
      return {
        type: 'OfferWorkaround',
        data: { workaroundId: uuid(random), description: 'Use the mobile app meanwhile' },
        metadata,
      };
    }
    case 8:
      return state.mitigatedAt === null
        ? { type: 'MitigateIncident', data: { summary: 'Traffic shifted' }, metadata: orderedMetadata }
        : null;
    default:
      return null;
  }
}

/**
 * The latest occurredAt of the entries that severity changes, status updates, estimates, the
 * mitigation and the resolution may not be backdated before (incident.decide.ts), in milliseconds.
 */
function latestOrderedEntryAt(state: IncidentState): number {
  const { startedAt, severitySince, statusSince, latestStatusUpdateAt, estimateGivenAt, mitigatedAt } = state;
  return latestAt(startedAt, severitySince, statusSince, latestStatusUpdateAt, estimateGivenAt, mitigatedAt);
}

/** The latest of the instants (null: none; at least one is not), in milliseconds. */
function latestAt(...instants: (string | null)[]): number {
  return Math.max(...instants.filter((at) => at !== null).map((at) => Date.parse(at)));
}

/**
 * Root causes and preventive measures: allowed open or resolved. `metadataAfter` dates a command
 * not before the start (the resolution, once resolved) nor before the given entries of its item.
 */
function analysisCommand(
  state: IncidentState,
  metadataAfter: (...entries: (string | null)[]) => CommandMetadata,
  random: () => number,
  pick: <T>(items: readonly T[]) => T,
): IncidentCommand | null {
  const rootCause = state.rootCauses.at(-1);
  const analysis = {
    category: pick(ROOT_CAUSE_CATEGORIES),
    description: `A change without a canary (${state.version})`,
    contributingFactors: ['No canary stage'],
    trigger: 'Deploy of the checkout service',
    detection: 'Error-rate alert',
  };
  const measure = state.preventiveMeasures.find(
    (each) => each.status === 'PLANNED' || each.status === 'IN_PROGRESS',
  );
  switch (Math.floor(random() * 4)) {
    case 0:
      return {
        type: 'IdentifyRootCause',
        data: { rootCauseId: uuid(random), ...analysis },
        metadata: metadataAfter(),
      };
    case 1:
      return rootCause === undefined
        ? null
        : {
            type: 'ReviseRootCause',
            data: { rootCauseId: rootCause.rootCauseId, reason: 'Deeper analysis', ...analysis },
            metadata: metadataAfter(rootCause.identifiedAt, rootCause.revisedAt),
          };
    case 2: {
      const metadata = metadataAfter(rootCause?.identifiedAt ?? null);
      return {
        type: 'PlanPreventiveMeasure',
        data: {
          measureId: uuid(random),
          title: 'Add a canary stage',
          kind: pick(MEASURE_KINDS),
          owner: pick(ACTORS),
          // Some fall due within the hour, so that the history has overdue measures too.
          dueDate: new Date(Date.parse(metadata.occurredAt) + pick(MEASURE_DUE_IN_MS)).toISOString(),
          priority: pick(MEASURE_PRIORITIES),
          rootCauseId: rootCause?.rootCauseId ?? null,
        },
        metadata,
      };
    }
    default: {
      if (measure === undefined) return null;
      const { measureId } = measure;
      const metadata = metadataAfter(measure.plannedAt, measure.startedAt);
      if (measure.status === 'PLANNED')
        return { type: 'StartPreventiveMeasure', data: { measureId }, metadata };
      return random() < 0.7
        ? { type: 'CompletePreventiveMeasure', data: { measureId, evidence: 'https://ci/canary' }, metadata }
        : { type: 'CancelPreventiveMeasure', data: { measureId, reason: 'Superseded' }, metadata };
    }
  }
}

/** What comes once an incident is resolved (the rules refuse what does not fit its state). */
function afterResolutionCommand(
  metadata: CommandMetadata,
  random: () => number,
  pick: <T>(items: readonly T[]) => T,
): IncidentCommand {
  switch (Math.floor(random() * 8)) {
    case 0:
      return { type: 'ReopenIncident', data: { reason: 'The errors came back' }, metadata };
    case 1:
    case 2:
      return {
        type: 'PublishPostmortem',
        data: {
          summary: 'A deploy broke checkout',
          customerImpact: 'Payments failed for 40 minutes',
          narrative: 'We deployed, errors rose, we rolled back.',
          lessons: { wentWell: ['Fast rollback'], wentWrong: ['No canary'], gotLucky: [] },
          customerExplanation: 'A software change caused failed payments; we have added safeguards.',
        },
        metadata,
      };
    case 3:
      return {
        type: 'GrantCompensation',
        data:
          random() < 0.8
            ? {
                grantId: uuid(random),
                segment: pick(SEGMENTS),
                creditPercent: pick([5, 10, 25]),
                justification: 'Goodwill for a long outage',
              }
            : {
                grantId: uuid(random),
                customerId: `customer-${Math.floor(random() * 100)}`,
                amount: pick([50, 100, 250]),
                currency: pick(['EUR', 'USD']),
                justification: 'Refund of a failed order',
              },
        metadata,
      };
    case 4:
    case 5:
      return {
        type: 'RecordCustomerFeedback',
        data: {
          feedbackId: uuid(random),
          rating: 1 + Math.floor(random() * 5),
          comment: random() < 0.5 ? 'Thanks for the updates' : null,
          channel: pick(CHANNELS),
        },
        metadata,
      };
    default:
      return { type: 'CloseIncident', data: {}, metadata };
  }
}

/** A maintenance scheduled for tomorrow, then left so, rescheduled, started and completed, or cancelled. */
async function scheduleMaintenance(
  store: EventStore,
  maintenanceId: string,
  random: () => number,
  pick: <T>(items: readonly T[]) => T,
): Promise<void> {
  const now = new Date().toISOString();
  const metadata = { actor: pick(ACTORS), occurredAt: now, now };
  const windowStart = Date.now() + 86_400_000 + Math.floor(random() * 30) * 86_400_000;
  const window = (start: number) => ({
    windowStart: new Date(start).toISOString(),
    windowEnd: new Date(start + 7_200_000).toISOString(),
  });
  const commands: MaintenanceCommand[] = [
    {
      type: 'ScheduleMaintenance',
      data: { maintenanceId, title: 'Database upgrade', ...window(windowStart), services: [pick(SERVICES)] },
      metadata,
    },
  ];
  const path = Math.floor(random() * 4);
  if (path === 1) {
    const later = window(windowStart + 86_400_000);
    commands.push({ type: 'RescheduleMaintenance', data: { ...later, reason: 'Release freeze' }, metadata });
  } else if (path === 2) {
    commands.push({ type: 'StartMaintenance', data: {}, metadata });
    commands.push({ type: 'CompleteMaintenance', data: { summary: 'Upgraded' }, metadata });
  } else if (path === 3) {
    commands.push({ type: 'CancelMaintenance', data: { reason: 'Not needed after all' }, metadata });
  }
  let state = initialMaintenanceState();
  const envelopes: NewEvent[] = [];
  for (const command of commands) {
    for (const event of decideMaintenance(command, state)) {
      state = evolveMaintenance(state, { ...event, occurredAt: now, actor: metadata.actor });
      envelopes.push(newEvent(event.type, event.data, now, metadata.actor));
    }
  }
  await store.appendToStream(maintenanceStreamId(maintenanceId), envelopes, 'no-stream');
}

/** Decides the command on `state` and appends what it decided, as the API does. */
export async function executeCommand(
  store: EventStore,
  incidentId: string,
  command: IncidentCommand,
  state: IncidentState,
): Promise<{ state: IncidentState; appended: number; position: bigint }> {
  const decided = decide(command, state);
  const { actor, occurredAt } = command.metadata;
  const envelopes = decided.map((event) => newEvent(event.type, event.data, occurredAt, actor));
  const { position } = await store.appendToStream(incidentStreamId(incidentId), envelopes, state.version);
  return {
    state: decided.reduce((current, event) => evolve(current, { ...event, occurredAt, actor }), state),
    appended: decided.length,
    position,
  };
}

/** The incident's state, folded from its stream as the write side does. */
export async function loadIncident(store: EventStore, incidentId: string): Promise<IncidentState> {
  return (await store.readStream(incidentStreamId(incidentId))).reduce(evolveStored, initialIncidentState());
}

/** An envelope as the API writes it. */
export function newEvent(type: string, data: object, occurredAt: string, actor: string): NewEvent {
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data: data as Record<string, unknown>,
    occurredAt,
    actor,
    correlationId: randomUUID(),
    causationId: null,
    idempotencyKey: null,
    requestFingerprint: null,
  };
}

function uuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

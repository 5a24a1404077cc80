import {
  compensationPolicy,
  compensationSegments,
  isPreventiveMeasureOverdue,
  suggestCompensation,
  suggestCompensationFor,
  type IncidentState,
  type RootCauseIdentified,
  type RootCauseRevised,
} from '../../../libs/domain/index.js';
import type { StoredEvent } from '../../../libs/event-store/index.js';
import { BadUserInputError } from '../graphql/errors.js';
import type { Incident } from './incident.types.js';
import type { CompensationSuggestion, RootCause, RootCauseRevision } from './post-incident.types.js';

export type PostIncidentView = Pick<
  Incident,
  | 'rootCauses'
  | 'preventiveMeasures'
  | 'postmortem'
  | 'compensations'
  | 'feedback'
  | 'averageRating'
  | 'closedAt'
  | 'communicationPolicyVersion'
  | 'compensationPolicyVersion'
>;

/** What the incident holds after the outage; measures are overdue or not as of `now`. */
export function toPostIncidentView(state: IncidentState, now: string): PostIncidentView {
  const ratings = state.feedback.map(({ rating }) => rating);
  return {
    rootCauses: state.rootCauses.map((rootCause) => ({
      ...rootCause,
      incidentId: state.id!,
      incidentVersion: state.version,
    })),
    preventiveMeasures: state.preventiveMeasures.map((measure) => ({
      ...measure,
      overdue: isPreventiveMeasureOverdue(measure, now),
    })),
    postmortem: state.postmortem,
    compensations: state.compensations.map((grant) => ({
      ...grant,
      followsPolicy: followsPolicy(grant),
    })),
    feedback: state.feedback,
    averageRating:
      ratings.length === 0 ? null : ratings.reduce((sum, rating) => sum + rating, 0) / ratings.length,
    closedAt: state.closedAt,
    communicationPolicyVersion: state.communicationPolicyVersion,
    compensationPolicyVersion: state.compensationPolicyVersion,
  };
}

type RootCauseEvent = StoredEvent &
  (Pick<RootCauseIdentified, 'type' | 'data'> | Pick<RootCauseRevised, 'type' | 'data'>);

const isVersionOf = (rootCause: RootCause, event: StoredEvent): event is RootCauseEvent =>
  (event.type === 'RootCauseIdentified' || event.type === 'RootCauseRevised') &&
  event.data.rootCauseId === rootCause.rootCauseId;

/** Every version of the root cause in the incident's events, its identification first. */
export function toRootCauseRevisions(
  rootCause: RootCause,
  events: readonly StoredEvent[],
): RootCauseRevision[] {
  return events
    .filter((event) => isVersionOf(rootCause, event))
    .map((event) => {
      const { category, description, contributingFactors, trigger, detection } = event.data;
      return {
        category,
        description,
        contributingFactors,
        trigger,
        detection,
        reason: event.type === 'RootCauseRevised' ? event.data.reason : null,
        version: event.streamVersion,
        at: event.occurredAt,
        by: event.actor,
      };
    });
}

/**
 * What the incident's compensation policy version suggests for its outage, per segment: for every
 * segment of the policy, or for the one asked for. Null while unresolved, as the outage's length
 * is not known yet.
 */
export function toCompensationSuggestion(
  incident: Pick<Incident, 'startedAt' | 'resolvedAt' | 'compensationPolicyVersion'>,
  segment: string | null,
): CompensationSuggestion | null {
  const policy = compensationPolicy(incident.compensationPolicyVersion);
  const segments = compensationSegments(policy);
  if (segment !== null && !segments.includes(segment)) {
    throw new BadUserInputError(
      `Compensation policy ${policy.version} knows the segments ${segments.join(', ')}, not ${segment}`,
    );
  }
  const outage = suggestCompensationFor(incident, null);
  if (outage === null) return null;
  const { policyVersion, outageMinutes } = outage;
  return {
    policyVersion,
    outageMinutes,
    defaultSegment: policy.defaultSegment,
    credits: (segment === null ? segments : [segment]).map((name) => ({
      segment: name,
      suggestedPercent: suggestCompensation(policy, outageMinutes, name),
    })),
  };
}

/** A grant follows its policy when it is exactly the percent the policy suggested. */
export function followsPolicy(grant: { creditPercent: number | null; suggestedPercent: number }): boolean {
  return grant.creditPercent === grant.suggestedPercent;
}

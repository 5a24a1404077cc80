import { registerEnumType } from '@nestjs/graphql';

/**
 * The domain's string unions as GraphQL enums. The objects' keys equal their values, so a
 * GraphQL enum value is the domain value itself.
 */
function enumOf<const T extends string>(name: string, values: readonly T[]): { [K in T]: K } {
  const enumObject = Object.fromEntries(values.map((value) => [value, value])) as { [K in T]: K };
  registerEnumType(enumObject, { name });
  return enumObject;
}

export const SeverityEnum = enumOf('Severity', ['SEV1', 'SEV2', 'SEV3', 'SEV4']);
export const IncidentStatusEnum = enumOf('IncidentStatus', [
  'INVESTIGATING',
  'IDENTIFIED',
  'MONITORING',
  'RESOLVED',
  'CLOSED',
]);
export const ServiceImpactEnum = enumOf('ServiceImpact', [
  'OPERATIONAL',
  'DEGRADED_PERFORMANCE',
  'PARTIAL_OUTAGE',
  'MAJOR_OUTAGE',
  'UNDER_MAINTENANCE',
]);
export const ChannelEnum = enumOf('Channel', ['EMAIL', 'SMS', 'SOCIAL', 'WEBSITE', 'IN_APP', 'WEBHOOK']);
export const VisibilityEnum = enumOf('Visibility', ['PUBLIC', 'INTERNAL']);
export const IncidentRoleEnum = enumOf('IncidentRole', [
  'INCIDENT_COMMANDER',
  'COMMUNICATIONS_LEAD',
  'TECHNICAL_LEAD',
  'SCRIBE',
]);
export const RootCauseCategoryEnum = enumOf('RootCauseCategory', [
  'CHANGE_DEPLOY',
  'CONFIGURATION',
  'CAPACITY',
  'HARDWARE',
  'SOFTWARE_DEFECT',
  'DEPENDENCY_THIRD_PARTY',
  'NETWORK',
  'SECURITY',
  'HUMAN_ERROR',
  'EXTERNAL',
  'UNKNOWN',
]);
export const PreventiveMeasureKindEnum = enumOf('PreventiveMeasureKind', [
  'PREVENT',
  'DETECT',
  'MITIGATE',
  'PROCESS',
]);
export const PreventiveMeasurePriorityEnum = enumOf('PreventiveMeasurePriority', ['P1', 'P2', 'P3', 'P4']);
export const PreventiveMeasureStatusEnum = enumOf('PreventiveMeasureStatus', [
  'PLANNED',
  'IN_PROGRESS',
  'COMPLETED',
  'CANCELLED',
]);
export const MaintenanceStatusEnum = enumOf('MaintenanceStatus', [
  'SCHEDULED',
  'IN_PROGRESS',
  'COMPLETED',
  'CANCELLED',
]);
export const MetricsGroupByEnum = enumOf('MetricsGroupBy', ['NONE', 'SEVERITY', 'SERVICE', 'MONTH']);
/** Which of an event's times `incidentAsOf(at)` goes by. */
export const AsOfClockEnum = enumOf('AsOfClock', ['RECORDED_AT', 'OCCURRED_AT']);
export type AsOfClock = keyof typeof AsOfClockEnum;

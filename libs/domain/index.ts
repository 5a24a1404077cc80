export { RuleViolation } from './rule-violation.js';
export type { CommandMetadata, Decider, DomainCommand, DomainEvent, Recorded } from './decider.js';
export * from './incident/incident.js';
export * from './incident/incident.decide.js';

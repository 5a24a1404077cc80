/**
 * A command broke a domain rule. `rule` is a stable kebab-case name that clients may match on
 * (the API reports it as RULE_VIOLATION with the rule's name); `message` is for people.
 */
export class RuleViolation extends Error {
  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(message);
    this.name = 'RuleViolation';
  }
}

import { SetMetadata } from '@nestjs/common';
import type { Role } from '../config/ledger-config.js';

export const ROLES_KEY = 'ledger:roles';

/** The roles allowed to call a resolver; `admin` may always. Without it, any authenticated key may. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

// The groups below are the role matrix of docs/roles.md; change both together.

/** Who may write to an incident, and who may only speak to customers about it. */
export const RESPONDERS: Role[] = ['responder'];
export const COMMUNICATORS: Role[] = ['responder', 'communicator'];
/**
 * Who may read what is internal: the internal timeline, the events' full envelopes (internal notes
 * among them), the post-incident catalogs. Communicators see the incident and what customers see.
 */
export const INTERNAL_READERS: Role[] = ['responder', 'auditor'];
/**
 * Who may read webhook registrations, in the `webhooks` query and in the feed: their URLs may carry a
 * receiver's credential in a path or query.
 */
export const WEBHOOK_READERS: Role[] = ['auditor'];
/** Who may grant compensation: money leaves the company, so admins alone (admin is always allowed). */
export const COMPENSATION_GRANTERS: Role[] = [];

import { Module } from '@nestjs/common';
import { AccountabilityResolver } from './accountability.resolver.js';
import { OverdueUpdatesWatcher } from './overdue-updates.watcher.js';

/** Incident metrics, communication compliance, overdue updates and the post-incident catalogs. */
@Module({ providers: [AccountabilityResolver, OverdueUpdatesWatcher] })
export class AccountabilityModule {}

import { Module } from '@nestjs/common';
import { MaintenanceResolver } from './maintenance.resolver.js';

/** Scheduled maintenance windows: their mutations and read model. */
@Module({ providers: [MaintenanceResolver] })
export class MaintenanceModule {}

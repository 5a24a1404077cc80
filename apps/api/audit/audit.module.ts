import { Module } from '@nestjs/common';
import { IncidentStreams } from '../incidents/incident-streams.js';
import { AuditResolver } from './audit.resolver.js';

@Module({ providers: [AuditResolver, IncidentStreams] })
export class AuditModule {}

import { Module } from '@nestjs/common';
import { IncidentStreams } from './incident-streams.js';
import { IncidentsResolver } from './incidents.resolver.js';

@Module({
  providers: [IncidentsResolver, IncidentStreams],
})
export class IncidentsModule {}

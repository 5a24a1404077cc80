import { Module } from '@nestjs/common';
import { ExecuteIncidentCommandHandler } from './execute-incident-command.js';
import { IncidentStreams } from './incident-streams.js';
import { IncidentsResolver } from './incidents.resolver.js';

@Module({
  providers: [IncidentsResolver, IncidentStreams, ExecuteIncidentCommandHandler],
})
export class IncidentsModule {}

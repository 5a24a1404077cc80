import { Module } from '@nestjs/common';
import { IncidentMutations } from './incident-mutations.js';
import { IncidentsResolver } from './incidents.resolver.js';
import { PostIncidentResolver, RootCauseResolver } from './post-incident.resolver.js';

@Module({
  providers: [IncidentsResolver, PostIncidentResolver, RootCauseResolver, IncidentMutations],
})
export class IncidentsModule {}

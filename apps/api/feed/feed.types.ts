import { Field, ObjectType } from '@nestjs/graphql';
import { IncidentEvent } from '../incidents/incident.types.js';
import { PageInfo } from '../read-models/read-model.graphql-types.js';

@ObjectType()
export class EventEdge {
  @Field(() => String, { description: 'The position of this event: resume after it.' }) cursor!: string;
  @Field(() => IncidentEvent) node!: IncidentEvent;
}

@ObjectType({ description: 'A page of the global feed, in position order.' })
export class EventConnection {
  @Field(() => [EventEdge]) edges!: EventEdge[];
  @Field(() => PageInfo, {
    description:
      'endCursor is the last position examined, filtered out or not: resume after it, and nothing is missed.',
  })
  pageInfo!: PageInfo;
}

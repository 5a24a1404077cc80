import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { createApp } from '../../apps/api/bootstrap.js';
import { loadConfig, type LedgerConfig } from '../../apps/api/config/ledger-config.js';

/** Keys the test servers accept, one per role. */
export const KEYS = {
  responder: 'responder-key-0123456789',
  communicator: 'communicator-key-0123456789',
  auditor: 'auditor-key-0123456789',
  admin: 'admin-key-0123456789',
} as const;

const API_KEYS = [
  `alice:responder:${KEYS.responder}`,
  `carol:communicator:${KEYS.communicator}`,
  `audrey:auditor:${KEYS.auditor}`,
  `root:admin:${KEYS.admin}`,
].join(',');

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, any>; path?: string[] }>;
}

/** The real API over real HTTP, on a SQLite store in its own temp dir. */
export class LedgerServer {
  private constructor(
    readonly app: INestApplication,
    readonly url: string,
    readonly config: LedgerConfig,
  ) {}

  static async start(options: { dataDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<LedgerServer> {
    const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-e2e-'));
    const config = loadConfig({
      LEDGER_DATA_DIR: dataDir,
      LEDGER_API_KEYS: API_KEYS,
      LOG_LEVEL: 'silent',
      PORT: '0',
      ...options.env,
    });
    const app = await createApp(config);
    try {
      await app.listen(0, '127.0.0.1');
    } catch (error) {
      // Its modules may have started (and it holds the data dir's lock): main.ts exits, a test goes on.
      await app.close();
      throw error;
    }
    const { port } = app.getHttpServer().address() as { port: number };
    return new LedgerServer(app, `http://127.0.0.1:${port}`, config);
  }

  /** Restarts on the same data dir, as after a process restart. */
  async restart(): Promise<LedgerServer> {
    await this.stop();
    return LedgerServer.start({ dataDir: this.config.dataDir });
  }

  async stop(): Promise<void> {
    await this.app.close();
  }

  /** Removes the data dir; for a final teardown. */
  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.config.dataDir, { recursive: true, force: true });
  }

  async graphql<T = Record<string, any>>(
    query: string,
    variables: Record<string, unknown> = {},
    key: string | null = KEYS.responder,
  ): Promise<GraphQLResponse<T>> {
    const response = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as GraphQLResponse<T>;
    return { ...body, status: response.status };
  }
}

export const INCIDENT_FIELDS = `
  id title summary status severity version startedAt declaredBy acknowledgedAt acknowledgedBy
  estimatedResolutionAt etaRevisions lastCustomerUpdateAt nextUpdateDueAt mitigatedAt resolvedAt
  resolutionSummary reopenCount
  services { service impact } roles { role assignee }
  workarounds { workaroundId description offeredAt withdrawnAt withdrawalReason active }
  events { eventId type schemaVersion streamId version position actor recordedAt occurredAt backdated
           correlationId causationId idempotencyKey requestFingerprint data hash }
`;

export const PAYLOAD = `incident { ${INCIDENT_FIELDS} } version position`;

/** `mutation($input: XInput!) { name(input: $input) { …payload } }` */
export function mutation(name: string, inputType: string): string {
  return `mutation($input: ${inputType}!) { ${name}(input: $input) { ${PAYLOAD} } }`;
}

export const DECLARE = mutation('declareIncident', 'DeclareIncidentInput');

/** Declares an incident and returns its id (fails the test on any error). */
export async function declareIncident(
  server: LedgerServer,
  input: Record<string, unknown> = {},
): Promise<{ id: string; payload: any }> {
  const result = await server.graphql(DECLARE, {
    input: { title: 'Checkout fails for EU customers', severity: 'SEV2', services: ['checkout'], ...input },
  });
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return { id: result.data!.declareIncident.incident.id, payload: result.data!.declareIncident };
}

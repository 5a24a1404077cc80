import fs from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { ConfigError, loadConfig } from '../apps/api/config/ledger-config.js';
import { DataDirLock } from '../libs/data-dir/data-dir-lock.js';
import { EVENT_STORE, type EventStore } from '../libs/event-store/index.js';
import { eventually, WebhookReceiver } from '../libs/webhooks/testing/webhook-receiver.js';
import { declareIncident, LedgerServer } from './support/ledger-server.js';
import { closedPort, killServerProcesses, startServerProcess } from './support/server-process.js';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-ops-'));

/** Declares an incident over HTTP, as the ops test keys' admin. */
async function declareIncidentOver(url: string): Promise<void> {
  const declared = await post(
    url,
    'ops-admin-key-0123456789',
    'mutation { declareIncident(input: { title: "Search is slow", severity: SEV3 }) { version } }',
  );
  expect(declared.errors).toBeUndefined();
}

/** The position up to which a consumer's file (read models, a dispatcher's) has handled the log. */
function checkpointOf(file: string): string | null {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT position FROM checkpoint').get() as { position: string | null }).position;
  } finally {
    db.close();
  }
}

async function post(url: string, key: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as any;
}

const OPS_KEY = 'ops-admin-key-0123456789';
const WEBHOOK_SECRET = 'whsec-operability-0123456789';
const CHANNEL_SECRET = 'notify-operability-0123456789';
const STATUS_MESSAGE = 'We are looking into it.';

/**
 * Starts a server process whose WEBHOOK channel posts to `channel`, registers a webhook of
 * IncidentDeclared to `hooks`, declares an incident and posts a status update on WEBHOOK: one
 * delivery for each dispatcher.
 */
async function deliverTo(hooks: WebhookReceiver, channel: WebhookReceiver, env: NodeJS.ProcessEnv = {}) {
  const dataDir = tempDir();
  const server = await startServerProcess({
    LEDGER_DATA_DIR: dataDir,
    LEDGER_API_KEYS: `ops:admin:${OPS_KEY}`,
    LEDGER_NOTIFICATION_WEBHOOK_URL: channel.url,
    LEDGER_NOTIFICATION_WEBHOOK_SECRET: CHANNEL_SECRET,
    LEDGER_DELIVERY_BASE_DELAY_MS: '5',
    LEDGER_DELIVERY_MAX_DELAY_MS: '20',
    ...env,
  });
  const registered = await post(
    server.url,
    OPS_KEY,
    'mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { webhook { id } } }',
    { input: { url: hooks.url, secret: WEBHOOK_SECRET, eventTypes: ['IncidentDeclared'] } },
  );
  const declared = await post(
    server.url,
    OPS_KEY,
    'mutation { declareIncident(input: { title: "Search is slow", severity: SEV3 }) { incident { id } } }',
  );
  const incidentId = declared.data.declareIncident.incident.id as string;
  const posted = await post(
    server.url,
    OPS_KEY,
    `mutation($input: PostStatusUpdateInput!) { postStatusUpdate(input: $input) { version } }`,
    { input: { incidentId, status: 'INVESTIGATING', message: STATUS_MESSAGE, channels: ['WEBHOOK'] } },
  );
  expect(posted.errors).toBeUndefined();
  /** Stops the server (a clean exit), removes its data dir, and returns what it logged. */
  const stop = async () => {
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
    return logLines(server);
  };
  return { server, stop, webhookId: registered.data.registerWebhook.webhook.id as string, incidentId };
}

/** The JSON lines a server process has logged so far. */
function logLines(server: { output(): string }): Array<Record<string, unknown>> {
  return server
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('health, request ids and configuration', () => {
  let server: LedgerServer;
  beforeAll(async () => {
    server = await LedgerServer.start();
  });
  afterAll(async () => {
    await server.destroy();
  });

  test("/health reports the event store and the read models' lag; /health/live the process", async () => {
    await declareIncident(server);
    const ready = await fetch(`${server.url}/health`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { info: { readModels: { status: string; lag: number } } };
    expect(body).toMatchObject({ status: 'ok', info: { eventStore: { status: 'up' } } });
    expect(body.info.readModels.status).toBe('up');
    expect(body).toMatchObject({ info: { disk: { status: 'up', freeMb: expect.any(Number) } } });
    // Events not yet in the read models: none, or the one just declared.
    expect([0, 1]).toContain(body.info.readModels.lag);
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
  });

  test('/health answers 503 naming the event store when it does not answer, the lag then unknown', async () => {
    const failing = await LedgerServer.start();
    try {
      // The store gone from under the server, as a KurrentDB server that went away.
      await failing.app.get<EventStore>(EVENT_STORE).close();

      const ready = await fetch(`${failing.url}/health`);

      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({
        status: 'error',
        error: { eventStore: { status: 'down' } },
        info: { readModels: { status: 'up', lag: null } },
      });
    } finally {
      await failing.destroy();
    }
  });

  test('/health answers 503 naming the disk when the data dir has less room than LEDGER_MIN_FREE_DISK_MB', async () => {
    // More than any disk here: as a full one.
    const full = await LedgerServer.start({ env: { LEDGER_MIN_FREE_DISK_MB: String(1024 ** 3) } });
    try {
      const ready = await fetch(`${full.url}/health`);

      expect(ready.status).toBe(503);
      const body = (await ready.json()) as any;
      expect(body).toMatchObject({ status: 'error', info: { eventStore: { status: 'up' } } });
      expect(body.error.disk.status).toBe('down');
      expect(body.error.disk.message).toMatch(
        /^\d+ MiB free on the filesystem of LEDGER_DATA_DIR, under LEDGER_MIN_FREE_DISK_MB \(1073741824\): appends will soon fail$/,
      );
    } finally {
      await full.destroy();
    }
  });

  test('responses say nothing of the framework, forbid sniffing and framing', async () => {
    for (const response of [
      await fetch(`${server.url}/health/live`),
      await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      }),
    ]) {
      expect(response.headers.get('x-powered-by')).toBeNull();
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
    }
  });

  test("a caller's X-Request-Id is echoed and becomes the events' correlationId", async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer admin-key-0123456789',
        'x-request-id': 'req-42',
      },
      body: JSON.stringify({
        query:
          'mutation { declareIncident(input: {title: "Search is slow", severity: SEV4}) { incident { events { correlationId } } } }',
      }),
    });
    expect(response.headers.get('x-request-id')).toBe('req-42');
    const body = (await response.json()) as any;
    expect(body.data.declareIncident.incident.events[0].correlationId).toBe('req-42');
  });

  test('a bad setting fails start-up with a message naming it', () => {
    const bad: Array<[NodeJS.ProcessEnv, string]> = [
      [{ PORT: 'eighty' }, 'PORT'],
      [{ PORT: '0x10' }, 'PORT'],
      [{ LEDGER_API_KEYS: 'alice:janitor:0123456789abcdefgh' }, 'LEDGER_API_KEYS'],
      [{ LEDGER_API_KEYS: 'alice:responder:short' }, 'LEDGER_API_KEYS'],
      [{ EVENTSTORE_URL: 'mysql://db' }, 'EVENTSTORE_URL'],
      [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    ];
    for (const [env, setting] of bad) {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(setting);
    }
    expect(loadConfig({ LEDGER_API_KEYS: 'bob:responder|communicator:0123456789abcdefgh' }).apiKeys).toEqual([
      { actor: 'bob', roles: ['responder', 'communicator'], key: '0123456789abcdefgh' },
    ]);
  });

  test('the store is still readable after a restart, and the data dir holds one events.db', async () => {
    const { id } = await declareIncident(server);
    server = await server.restart();
    const { data } = await server.graphql(`query($id: ID!) { incident(id: $id) { id } }`, { id });
    expect(data!.incident.id).toBe(id);
    expect(fs.existsSync(path.join(server.config.dataDir, 'events.db'))).toBe(true);
  });
});

describe('the built server, as `npm start` runs it', () => {
  // A failed test must not leave its server running (jest would wait for it).
  afterEach(killServerProcesses);

  test('a first start says it creates the event store; with no key configured it prints a generated admin key once, stores only its hash, and that key works after a restart until keys are configured', async () => {
    const dataDir = tempDir();
    const first = await startServerProcess({ LEDGER_DATA_DIR: dataDir });
    const key = /Bearer (\S+)"/.exec(first.output())?.[1];
    expect(key).toBeDefined();
    const created = `No event store in ${path.join(dataDir, 'events.db')}: creating a new, empty one`;
    expect(first.output()).toContain(created);
    expect(fs.readFileSync(path.join(dataDir, 'api-keys.json'), 'utf8')).not.toContain(key!);
    const declared = await post(
      first.url,
      key!,
      'mutation { declareIncident(input: {title: "API down", severity: SEV1}) { version } }',
    );
    expect(declared.data.declareIncident.version).toBe(1);
    expect(
      (await post(first.url, 'wrong-key-0000000000000', '{ __typename }')).errors[0].extensions.code,
    ).toBe('UNAUTHENTICATED');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await startServerProcess({ LEDGER_DATA_DIR: dataDir });
    expect(second.output()).not.toContain(key!);
    expect(second.output()).not.toContain(created);
    expect((await post(second.url, key!, '{ __typename }')).data.__typename).toBe('Query');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    // Configured keys replace it, and the server says so: its holder would otherwise be refused without a word.
    const configured = await startServerProcess({
      LEDGER_DATA_DIR: dataDir,
      LEDGER_API_KEYS: 'ops:admin:ops-admin-key-0123456789',
    });
    expect((await post(configured.url, key!, '{ __typename }')).errors[0].extensions.code).toBe(
      'UNAUTHENTICATED',
    );
    expect(configured.output()).toContain(
      `LEDGER_API_KEYS is set: the generated admin key of ${path.join(dataDir, 'api-keys.json')} is not accepted`,
    );
    configured.child.kill('SIGTERM');
    expect(await configured.exited).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('read models that start behind the log (new, or emptied by a schema change) are said to be catching up', async () => {
    const dataDir = tempDir();
    const env = { LEDGER_DATA_DIR: dataDir, LEDGER_API_KEYS: 'ops:admin:ops-admin-key-0123456789' };
    const first = await startServerProcess(env);
    await declareIncidentOver(first.url);
    first.child.kill('SIGTERM');
    await first.exited;
    for (const suffix of ['', '-wal', '-shm'])
      fs.rmSync(path.join(dataDir, `read-models.db${suffix}`), { force: true });

    const second = await startServerProcess(env);

    expect(second.output()).toContain('Read models behind the event store: catching up');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a PORT in use stops start-up with a message naming it', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    const { port } = taken.address() as AddressInfo;
    const dataDir = tempDir();

    try {
      await expect(startServerProcess({ LEDGER_DATA_DIR: dataDir, PORT: String(port) })).rejects.toThrow(
        `Cannot start: PORT ${port} is already in use by another process`,
      );
    } finally {
      // A listener left open would keep Jest from exiting when the expectation fails.
      taken.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a KurrentDB server that does not answer stops start-up with a message naming it', async () => {
    const port = await closedPort();
    const url = `kurrentdb://admin:s3cret@127.0.0.1:${port}?tls=false`;
    const dataDir = tempDir();
    const said = await startServerProcess({ LEDGER_DATA_DIR: dataDir, EVENTSTORE_URL: url }).then(
      () => 'started',
      (error: Error) => error.message,
    );

    expect(said).toMatch(/^server exited with 1:/);
    expect(said).toContain(
      `Cannot start: the KurrentDB server of EVENTSTORE_URL (kurrentdb://***@127.0.0.1:${port}?tls=false) does not answer`,
    );
    expect(said).not.toContain('s3cret');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a SIGTERM the moment the server says it listens still shuts it down gracefully', async () => {
    const dataDir = tempDir();
    // As an orchestrator that stops the server as soon as it reads the line: at once, from within.
    const hook = path.join(dataDir, 'terminate-when-listening.mjs');
    fs.writeFileSync(
      hook,
      `const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = (chunk, ...rest) => {
        const written = write(chunk, ...rest);
        if (String(chunk).includes('GraphQL on http')) process.kill(process.pid, 'SIGTERM');
        return written;
      };`,
    );

    const server = await startServerProcess({ LEDGER_DATA_DIR: dataDir, NODE_OPTIONS: `--import ${hook}` });

    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('incident-ledger: shutting down\n');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('PORT=0 lets the system pick the port, and the server says which', async () => {
    const dataDir = tempDir();
    const server = await startServerProcess({ LEDGER_DATA_DIR: dataDir, PORT: '0' });
    const [, port] = /GraphQL on http:\/\/localhost:(\d+)\/graphql/.exec(server.output())!;
    expect(Number(port)).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a second server on the same data dir is refused, and leaves the first one its place', async () => {
    const dataDir = tempDir();
    const env = { LEDGER_DATA_DIR: dataDir, LEDGER_API_KEYS: 'ops:admin:ops-admin-key-0123456789' };
    const first = await startServerProcess(env);
    await expect(startServerProcess(env)).rejects.toThrow(
      `Cannot start: another process works on this data directory (it holds ${path.join(dataDir, 'server.lock')})`,
    );
    // The first still holds the data dir: a rebuild would still be refused.
    expect(DataDirLock.isHeld(dataDir)).toBe(true);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(DataDirLock.isHeld(dataDir)).toBe(false);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a server killed with SIGKILL leaves nothing that stops the next one', async () => {
    const dataDir = tempDir();
    const env = { LEDGER_DATA_DIR: dataDir, LEDGER_API_KEYS: 'ops:admin:ops-admin-key-0123456789' };
    const killed = await startServerProcess(env);
    killed.child.kill('SIGKILL');
    await killed.exited;

    const next = await startServerProcess(env);

    expect(DataDirLock.isHeld(dataDir)).toBe(true);
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a data dir whose files cannot be used is named at start, with what to do about it', async () => {
    const dataDir = tempDir();
    const env = { LEDGER_DATA_DIR: dataDir, LEDGER_API_KEYS: 'ops:admin:ops-admin-key-0123456789' };
    const first = await startServerProcess(env);
    first.child.kill('SIGTERM');
    await first.exited;
    const readModels = path.join(dataDir, 'read-models.db');

    const newer = new Database(readModels);
    newer.pragma('user_version = 99');
    newer.close();
    await expect(startServerProcess(env)).rejects.toThrow(
      `Cannot start: ${readModels} has schema version 99; this release reads up to`,
    );

    fs.writeFileSync(readModels, 'not a database '.repeat(1000));
    const said = await startServerProcess(env).then(
      () => 'started',
      (error: Error) => error.message,
    );
    expect(said).toContain(
      `Cannot start: ${readModels} is damaged (file is not a database). It holds only derived data: run rebuild`,
    );
    // The message alone: Nest's own report of the failed provider (a stack trace) is not printed.
    expect(said).not.toMatch(/SqliteError|ExceptionHandler/);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  test('a start that fails still shows the warnings before it: a new, empty event store in a data dir that has files', async () => {
    const dataDir = tempDir();
    const readModels = path.join(dataDir, 'read-models.db');
    fs.writeFileSync(readModels, 'not a database '.repeat(1000));
    const said = await startServerProcess({
      LEDGER_DATA_DIR: dataDir,
      LEDGER_API_KEYS: 'ops:admin:ops-admin-key-0123456789',
    }).then(
      () => 'started',
      (error: Error) => error.message,
    );
    // The store is created before the damaged file is found: the next start will not say it again.
    expect(said).toContain(
      `EventStore: No event store in ${path.join(dataDir, 'events.db')}: creating a new, empty one\n`,
    );
    expect(said).toContain(`Cannot start: ${readModels} is damaged`);
    expect(said).not.toMatch(/SqliteError|ExceptionHandler/);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a file of the data dir ahead of the event store (restored out of order) is refused at start, with what to do', async () => {
    const dataDir = tempDir();
    const env = { LEDGER_DATA_DIR: dataDir, LEDGER_API_KEYS: 'ops:admin:ops-admin-key-0123456789' };
    const events = path.join(dataDir, 'events.db');
    const first = await startServerProcess(env);
    await declareIncidentOver(first.url);
    first.child.kill('SIGTERM');
    await first.exited;
    fs.copyFileSync(events, `${events}.backup`);
    const backedUp = checkpointOf(path.join(dataDir, 'read-models.db'));
    const second = await startServerProcess(env);
    await declareIncidentOver(second.url);
    const consumers = ['read-models.db', 'webhooks.db', 'notifications.db'].map((file) =>
      path.join(dataDir, file),
    );
    // Every consumer has handled the incident's events.
    while (consumers.some((file) => checkpointOf(file) === backedUp))
      await new Promise((r) => setTimeout(r, 20));
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const handled = checkpointOf(consumers[0]);
    expect(consumers.map(checkpointOf)).toEqual([handled, handled, handled]);
    expect(BigInt(handled!)).toBeGreaterThan(BigInt(backedUp!));

    // The event log restored from before the incident, and the other files left as they are.
    expect(fs.existsSync(`${events}-wal`)).toBe(false);
    fs.copyFileSync(`${events}.backup`, events);

    for (const [file, advice] of [
      [consumers[0], 'It holds only derived data: delete it'],
      [consumers[1], 'Restore it from the backup that events.db came from'],
      [consumers[2], 'It is an index of the notification streams of the log: delete it'],
    ]) {
      const said = await startServerProcess(env).then(
        () => 'started',
        (error: Error) => error.message,
      );
      expect(said).toContain(
        `Cannot start: ${file} has handled the event log up to position ${handled}, but the event store ends ` +
          `at ${backedUp}. Either the log lost its newest events (removed: \`cli verify\` names their positions, ` +
          "and this file shows they existed: keep a copy of it), or the file is not of this store's history " +
          `(restored out of order, or another store's). ${advice}`,
      );
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
    }
    const restored = await startServerProcess(env);
    restored.child.kill('SIGTERM');
    expect(await restored.exited).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  test('an api-keys.json that cannot be read is named at start, with what to do about it', async () => {
    const dataDir = tempDir();
    // As a crash while an older release wrote it left it: empty.
    fs.writeFileSync(path.join(dataDir, 'api-keys.json'), '');

    await expect(startServerProcess({ LEDGER_DATA_DIR: dataDir })).rejects.toThrow(
      `Cannot start: ${path.join(dataDir, 'api-keys.json')} is not JSON (Unexpected end of JSON input): ` +
        'delete it, and the next start creates an admin key and prints it once',
    );
    fs.rmSync(path.join(dataDir, 'api-keys.json'));
    const restarted = await startServerProcess({ LEDGER_DATA_DIR: dataDir });
    expect(restarted.output()).toMatch(/It is shown this once:\n\n {4}\S+\n/);
    restarted.child.kill('SIGTERM');
    expect(await restarted.exited).toBe(0);
    // Written aside, then linked into place: nothing else is left in the data dir.
    expect(fs.readdirSync(dataDir).filter((name) => name.startsWith('api-keys'))).toEqual(['api-keys.json']);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a server started during a rebuild says so and exits 1, having opened nothing', async () => {
    const dataDir = tempDir();
    const rebuilding = DataDirLock.acquire(dataDir); // as `cli rebuild` holds it while it runs

    await expect(
      startServerProcess({ LEDGER_DATA_DIR: dataDir, LEDGER_API_KEYS: 'ops:admin:ops-admin-key-0123456789' }),
    ).rejects.toThrow(
      /server exited with 1:[\s\S]*Cannot start: another process works on this data directory .*none during a rebuild/,
    );
    expect(fs.readdirSync(dataDir)).toEqual(['server.lock']);
    rebuilding.release();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 20_000);

  test("a client's mistakes are answered, not logged as the server's errors", async () => {
    const dataDir = tempDir();
    const key = 'ops-admin-key-0123456789';
    // LOG_LEVEL warn: only warnings and errors are written.
    const server = await startServerProcess({
      LEDGER_DATA_DIR: dataDir,
      LEDGER_API_KEYS: `ops:admin:${key}`,
    });
    const codes = [];
    for (const query of [
      'mutation { declareIncident(input: {title: "  ", severity: SEV1}) { version } }',
      '{ timeline(incidentId: "6f1d2c3b-0000-4000-8000-000000000000") { type } }',
      '{ incident(id: "not-a-uuid") { id } }',
    ]) {
      codes.push((await post(server.url, key, query)).errors[0].extensions.code);
    }
    codes.push(
      (await post(server.url, 'wrong-key-0000000000000', '{ __typename }')).errors[0].extensions.code,
    );
    expect(codes).toEqual(['RULE_VIOLATION', 'NOT_FOUND', 'BAD_USER_INPUT', 'UNAUTHENTICATED']);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.output()).not.toMatch(/"level":(50|60)/);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a failed delivery attempt is logged at warn as it fails, by the webhook and the notification dispatcher alike, without their secrets', async () => {
    // Each receiver turns away the first request it gets, then accepts.
    const firstRefused = () => WebhookReceiver.start((_, all) => (all.length === 1 ? 503 : 200));
    const [hooks, channel] = await Promise.all([firstRefused(), firstRefused()]);
    const { server, stop, webhookId, incidentId } = await deliverTo(hooks, channel);
    await eventually(
      () => hooks.accepted().length === 1 && channel.accepted().length === 1,
      'both deliveries, each at its second attempt',
    );
    const lines = await stop();
    await Promise.all([hooks.stop(), channel.stop()]);
    // The two dispatchers follow the log each on its own: either may have logged first.
    const failedAttempts = lines
      .filter((line) => line.attempt !== undefined)
      .sort((a, b) => String(a.context).localeCompare(String(b.context)));
    expect(failedAttempts).toEqual([
      expect.objectContaining({
        level: 40,
        context: 'Notifications',
        incidentId,
        channel: 'WEBHOOK',
        attempt: 1,
        maxAttempts: 10,
        error: 'HTTP 503',
      }),
      expect.objectContaining({
        level: 40,
        context: 'Webhooks',
        webhookId,
        eventType: 'IncidentDeclared',
        attempt: 1,
        maxAttempts: 10,
        error: 'HTTP 503',
      }),
    ]);
    for (const secret of [WEBHOOK_SECRET, CHANNEL_SECRET, STATUS_MESSAGE]) {
      expect(server.output()).not.toContain(secret);
    }
  });

  test('a delivery given up is logged as an error, by the webhook and the notification dispatcher alike', async () => {
    const refusing = () => WebhookReceiver.start(() => 503);
    const [hooks, channel] = await Promise.all([refusing(), refusing()]);
    const { server, stop, webhookId, incidentId } = await deliverTo(hooks, channel, {
      LEDGER_DELIVERY_MAX_ATTEMPTS: '2',
    });
    const givenUp = (lines: Array<Record<string, unknown>>) =>
      lines
        .filter((line) => /gave up|abandoned/.test(String(line.msg)))
        .sort((a, b) => String(a.context).localeCompare(String(b.context)));
    await eventually(() => givenUp(logLines(server)).length === 2, 'both deliveries given up');
    const lines = await stop();
    await Promise.all([hooks.stop(), channel.stop()]);
    expect(givenUp(lines)).toEqual([
      expect.objectContaining({
        level: 50,
        context: 'Notifications',
        msg: expect.stringContaining(
          `of incident ${incidentId} on WEBHOOK: abandoned after 2 attempts; the last: HTTP 503`,
        ),
      }),
      expect.objectContaining({
        level: 50,
        context: 'Webhooks',
        msg: expect.stringMatching(
          new RegExp(
            `^Webhook ${webhookId}: gave up delivering event .* after 2 attempts; the last: HTTP 503$`,
          ),
        ),
      }),
    ]);
  });

  test('many delivery attempts in flight at once (a slow receiver behind many webhooks) log no listener-leak warning', async () => {
    let answerAll: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (answerAll = resolve));
    const slow = await WebhookReceiver.start(() => answered.then(() => 200));
    const channel = await WebhookReceiver.start(() => 200);
    const { server, stop } = await deliverTo(slow, channel);
    // Eleven more webhooks of every event type: with the first, twelve attempts of the declaration
    // wait on the receiver at once, each listening for the dispatcher's stop.
    for (let n = 0; n < 11; n++) {
      const registered = await post(
        server.url,
        OPS_KEY,
        'mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { webhook { id } } }',
        { input: { url: slow.url, secret: WEBHOOK_SECRET } },
      );
      expect(registered.errors).toBeUndefined();
    }
    await post(
      server.url,
      OPS_KEY,
      'mutation { declareIncident(input: { title: "Search is slow again", severity: SEV3 }) { version } }',
    );
    await eventually(() => slow.requests.length >= 12, 'twelve attempts in flight');
    answerAll();
    await stop();
    await Promise.all([slow.stop(), channel.stop()]);
    expect(server.output()).not.toContain('MaxListenersExceededWarning');
  });

  test('SIGTERM while commands are in flight: the process exits cleanly, every acknowledged command is stored, and every stored one was acknowledged', async () => {
    const dataDir = tempDir();
    const key = 'ops-admin-key-0123456789';
    const env = { LEDGER_DATA_DIR: dataDir, LEDGER_API_KEYS: `ops:admin:${key}` };
    const server = await startServerProcess(env);
    const declare = (n: number) =>
      post(
        server.url,
        key,
        `mutation { declareIncident(input: {title: "Burst ${n}", severity: SEV3}) { incident { id } } }`,
      ).catch(
        () => null, // refused once the server stopped listening: never acknowledged
      );
    const inFlight = Array.from({ length: 40 }, (_, n) => declare(n));
    await new Promise((resolve) => setTimeout(resolve, 20));
    server.child.kill('SIGTERM');
    const acknowledged = (await Promise.all(inFlight))
      .map((body) => body?.data?.declareIncident?.incident?.id)
      .filter((id): id is string => typeof id === 'string');
    expect(await server.exited).toBe(0);

    const again = await startServerProcess(env);
    for (const id of acknowledged) {
      const body = await post(again.url, key, `query($id: ID!) { incident(id: $id) { id } }`, { id });
      expect(body.data.incident?.id).toBe(id);
    }
    // A request that was taken in got its answer: none committed while its caller saw a reset.
    const stored = await post(again.url, key, '{ incidents(first: 100) { totalCount } }');
    expect(stored.data.incidents.totalCount).toBe(acknowledged.length);
    again.child.kill('SIGTERM');
    await again.exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});

describe('the app built in-process, as the end-to-end tests start it', () => {
  test('an app that fails to start is closed: its data dir can be started on once the cause is gone', async () => {
    const server = await LedgerServer.start();
    await declareIncident(server);
    const { dataDir } = server.config;
    await server.stop();
    const readModels = path.join(dataDir, 'read-models.db');
    const handled = checkpointOf(readModels);
    const moveCheckpoint = (position: string | null) => {
      const db = new Database(readModels);
      db.prepare('UPDATE checkpoint SET position = ?').run(position);
      db.close();
    };
    moveCheckpoint('1000');
    await expect(LedgerServer.start({ dataDir })).rejects.toThrow(
      'has handled the event log up to position 1000',
    );
    moveCheckpoint(handled);
    const restarted = await LedgerServer.start({ dataDir });
    await restarted.destroy();
  }, 30_000);
});

import path from 'node:path';

export type Role = 'responder' | 'communicator' | 'auditor' | 'admin';
export const ROLES: readonly Role[] = ['responder', 'communicator', 'auditor', 'admin'];

/** One configured API key, as given in LEDGER_API_KEYS (`actor:role[|role…]:key`). */
export interface ApiKeyEntry {
  actor: string;
  roles: Role[];
  key: string;
}

export interface LedgerConfig {
  port: number;
  dataDir: string;
  apiKeys: ApiKeyEntry[];
  /** KurrentDB connection string; null means the embedded SQLite store. */
  eventStoreUrl: string | null;
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${setting} ${problem}`);
    this.name = 'ConfigError';
  }
}

/** Injection token for the validated LedgerConfig. */
export const LEDGER_CONFIG = Symbol('LedgerConfig');

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const MIN_KEY_LENGTH = 16;

/** Reads and validates the configuration; a bad setting fails start-up with a message naming it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LedgerConfig {
  return {
    port: parsePort(env.PORT),
    dataDir: path.resolve(env.LEDGER_DATA_DIR?.trim() || './data'),
    apiKeys: parseApiKeys(env.LEDGER_API_KEYS),
    eventStoreUrl: parseEventStoreUrl(env.EVENTSTORE_URL),
    logLevel: parseLogLevel(env.LOG_LEVEL),
  };
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 3000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError('PORT', `must be an integer from 0 to 65535, got "${value}"`);
  }
  return port;
}

export function parseApiKeys(value: string | undefined): ApiKeyEntry[] {
  if (value === undefined || value.trim() === '') return [];
  const entries = value.split(',').map((raw, index) => {
    const parts = raw.trim().split(':');
    const where = `entry ${index + 1}`;
    if (parts.length !== 3) {
      throw new ConfigError('LEDGER_API_KEYS', `${where} must look like actor:role[|role…]:key`);
    }
    const [actor, roleList, key] = parts;
    if (!/^[\w.@-]{1,100}$/.test(actor)) {
      throw new ConfigError(
        'LEDGER_API_KEYS',
        `${where} has an invalid actor name (letters, digits, . _ @ -)`,
      );
    }
    const roles = roleList.split('|');
    const unknown = roles.filter((role) => !ROLES.includes(role as Role));
    if (roles.length === 0 || unknown.length > 0) {
      throw new ConfigError(
        'LEDGER_API_KEYS',
        `${where} has unknown role(s) ${unknown.join(', ')}; roles are ${ROLES.join(', ')}`,
      );
    }
    if (key.length < MIN_KEY_LENGTH) {
      throw new ConfigError(
        'LEDGER_API_KEYS',
        `${where} has a key shorter than ${MIN_KEY_LENGTH} characters`,
      );
    }
    return { actor, roles: [...new Set(roles)] as Role[], key };
  });
  const keys = new Set(entries.map((entry) => entry.key));
  if (keys.size !== entries.length) throw new ConfigError('LEDGER_API_KEYS', 'contains the same key twice');
  return entries;
}

function parseEventStoreUrl(value: string | undefined): string | null {
  if (value === undefined || value.trim() === '') return null;
  if (!/^(kurrentdb|kurrent|kdb|esdb)(\+discover)?:\/\/.+/.test(value.trim())) {
    throw new ConfigError(
      'EVENTSTORE_URL',
      'must start with kurrentdb://, esdb:// (or their +discover forms)',
    );
  }
  return value.trim();
}

function parseLogLevel(value: string | undefined): string {
  if (value === undefined || value.trim() === '') return 'info';
  if (!LOG_LEVELS.includes(value)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return value;
}

import path from 'node:path';
import { DEFAULT_DELIVERY_POLICY, type DeliveryPolicy } from '../../../libs/webhooks/delivery-policy.js';
import { checkWebhookUrl, InvalidWebhookUrlError } from '../../../libs/webhooks/webhook-events.js';

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
  /** Attempts, backoff and deadlines of webhook deliveries and customer notifications. */
  delivery: DeliveryPolicy;
  /** The most bytes read from a webhook receiver's response. */
  webhookMaxResponseBytes: number;
  /** Below this free space (MiB) on the data dir's filesystem, /health answers 503. */
  minFreeDiskMb: number;
  /** The EMAIL channel's SMTP server; null: emails go to the log adapter. */
  smtp: SmtpConfig | null;
  /** The WEBHOOK notification channel's receiver; null: the log adapter. */
  notificationWebhook: { url: string; secret: string } | null;
  /**
   * Origins whose browser pages may call the API (CORS): `'*'` any, else exact origins such as
   * `https://status.example.com`; null sends no CORS headers (same-origin pages only).
   */
  corsOrigins: '*' | string[] | null;
  /** How many subscriptions (graphql-ws) may run at once: on one connection, and on the whole server. */
  subscriptionLimits: SubscriptionLimitsConfig;
}

export interface SubscriptionLimitsConfig {
  perConnection: number;
  serverWide: number;
}

export interface SmtpConfig {
  url: string;
  from: string;
  to: string[];
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

/** Whether LOG_LEVEL `level` lets warnings through. */
export function logsWarnings(level: string): boolean {
  return level !== 'silent' && LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf('warn');
}
const MIN_KEY_LENGTH = 16;

/** Reads and validates the configuration; a bad setting fails start-up with a message naming it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LedgerConfig {
  return {
    port: parsePort(env.PORT),
    dataDir: path.resolve(env.LEDGER_DATA_DIR?.trim() || './data'),
    apiKeys: parseApiKeys(env.LEDGER_API_KEYS),
    eventStoreUrl: parseEventStoreUrl(env.EVENTSTORE_URL),
    logLevel: parseLogLevel(env.LOG_LEVEL),
    delivery: parseDeliveryPolicy(env),
    webhookMaxResponseBytes: parseInteger(
      env,
      'LEDGER_WEBHOOK_MAX_RESPONSE_BYTES',
      65_536,
      0,
      100 * 1024 * 1024,
    ),
    minFreeDiskMb: parseInteger(env, 'LEDGER_MIN_FREE_DISK_MB', 256, 0, 1024 * 1024 * 1024),
    smtp: parseSmtp(env),
    notificationWebhook: parseNotificationWebhook(env),
    corsOrigins: parseCorsOrigins(env.LEDGER_CORS_ORIGINS),
    subscriptionLimits: parseSubscriptionLimits(env),
  };
}

/**
 * Each subscription may hold up to 1,500 events in memory (its read-ahead and a page of the log):
 * the server-wide limit bounds that memory; the one per connection, what one client may take of it.
 */
function parseSubscriptionLimits(env: NodeJS.ProcessEnv): SubscriptionLimitsConfig {
  const serverWide = parseInteger(env, 'LEDGER_MAX_SUBSCRIPTIONS', 1_000, 1, 1_000_000);
  // The default never exceeds a lower server-wide limit; a setting that does is a mistake.
  const perConnection = parseInteger(
    env,
    'LEDGER_MAX_SUBSCRIPTIONS_PER_CONNECTION',
    Math.min(100, serverWide),
    1,
    1_000_000,
  );
  if (perConnection > serverWide) {
    throw new ConfigError(
      'LEDGER_MAX_SUBSCRIPTIONS_PER_CONNECTION',
      `(${perConnection}) must not be more than LEDGER_MAX_SUBSCRIPTIONS (${serverWide})`,
    );
  }
  return { perConnection, serverWide };
}

function parseDeliveryPolicy(env: NodeJS.ProcessEnv): DeliveryPolicy {
  const baseDelayMs = parseInteger(
    env,
    'LEDGER_DELIVERY_BASE_DELAY_MS',
    DEFAULT_DELIVERY_POLICY.baseDelayMs,
    0,
    3_600_000,
  );
  const maxDelayMs = parseInteger(
    env,
    'LEDGER_DELIVERY_MAX_DELAY_MS',
    DEFAULT_DELIVERY_POLICY.maxDelayMs,
    0,
    86_400_000,
  );
  if (maxDelayMs < baseDelayMs) {
    throw new ConfigError(
      'LEDGER_DELIVERY_MAX_DELAY_MS',
      'must not be less than LEDGER_DELIVERY_BASE_DELAY_MS',
    );
  }
  return {
    maxAttempts: parseInteger(
      env,
      'LEDGER_DELIVERY_MAX_ATTEMPTS',
      DEFAULT_DELIVERY_POLICY.maxAttempts,
      1,
      1_000,
    ),
    baseDelayMs,
    maxDelayMs,
    timeoutMs: parseInteger(env, 'LEDGER_DELIVERY_TIMEOUT_MS', DEFAULT_DELIVERY_POLICY.timeoutMs, 1, 600_000),
    concurrency: parseInteger(
      env,
      'LEDGER_DELIVERY_CONCURRENCY',
      DEFAULT_DELIVERY_POLICY.concurrency,
      1,
      100,
    ),
  };
}

function parseInteger(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = env[name];
  if (value === undefined || value.trim() === '') return fallback;
  const parsed = decimalInteger(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

/** The value's decimal digits as a number; NaN otherwise (Number() would take "0x10", "1e3", "1_0"). */
function decimalInteger(value: string): number {
  return /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
}

/** A setting that means something only with `required`, given without it: a mistake, not a default. */
function requireWith(env: NodeJS.ProcessEnv, required: string, dependents: string[]): void {
  const given = dependents.filter((name) => env[name]?.trim());
  if (!env[required]?.trim() && given.length > 0) {
    throw new ConfigError(
      required,
      `is missing, though ${given.join(' and ')} ${given.length > 1 ? 'are' : 'is'} set`,
    );
  }
}

const EMAIL = /^[^\s@,<>]+@[^\s@,<>]+$/;

function parseSmtp(env: NodeJS.ProcessEnv): SmtpConfig | null {
  requireWith(env, 'LEDGER_SMTP_URL', ['LEDGER_SMTP_FROM', 'LEDGER_SMTP_TO']);
  const url = env.LEDGER_SMTP_URL?.trim();
  if (!url) return null;
  if (!/^smtps?:\/\/[^/]+/.test(url))
    throw new ConfigError('LEDGER_SMTP_URL', 'must start with smtp:// or smtps://');
  const from = env.LEDGER_SMTP_FROM?.trim() || 'incident-ledger@localhost';
  if (!EMAIL.test(from)) throw new ConfigError('LEDGER_SMTP_FROM', 'must be an email address');
  const to = (env.LEDGER_SMTP_TO ?? '')
    .split(',')
    .map((address) => address.trim())
    .filter((address) => address !== '');
  if (to.length === 0 || !to.every((address) => EMAIL.test(address))) {
    throw new ConfigError('LEDGER_SMTP_TO', 'must list the recipients of customer emails, comma-separated');
  }
  return { url, from, to };
}

function parseNotificationWebhook(env: NodeJS.ProcessEnv): { url: string; secret: string } | null {
  requireWith(env, 'LEDGER_NOTIFICATION_WEBHOOK_URL', ['LEDGER_NOTIFICATION_WEBHOOK_SECRET']);
  const url = env.LEDGER_NOTIFICATION_WEBHOOK_URL?.trim();
  const secret = env.LEDGER_NOTIFICATION_WEBHOOK_SECRET ?? '';
  if (!url) return null;
  // As a registered webhook's: its failures are recorded in the log, URL included.
  let checked: string;
  try {
    checked = checkWebhookUrl(url);
  } catch (error) {
    if (!(error instanceof InvalidWebhookUrlError)) throw error;
    throw new ConfigError('LEDGER_NOTIFICATION_WEBHOOK_URL', error.problem);
  }
  if (secret === '') {
    throw new ConfigError(
      'LEDGER_NOTIFICATION_WEBHOOK_SECRET',
      'is required with LEDGER_NOTIFICATION_WEBHOOK_URL: the receiver checks the signature made with it',
    );
  }
  if (secret.length < MIN_KEY_LENGTH) {
    throw new ConfigError(
      'LEDGER_NOTIFICATION_WEBHOOK_SECRET',
      `must be at least ${MIN_KEY_LENGTH} characters`,
    );
  }
  return { url: checked, secret };
}

/**
 * LEDGER_CORS_ORIGINS: `*`, or origins separated by commas, each exactly as a browser sends it in
 * its Origin header (`scheme://host[:port]`: lower case, no path, no trailing slash, no default
 * port), since a request's Origin is compared with them as a string.
 */
export function parseCorsOrigins(value: string | undefined): '*' | string[] | null {
  if (value === undefined || value.trim() === '') return null;
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 1 && entries[0] === '*') return '*';
  if (entries.length === 0 || entries.includes('*')) {
    throw new ConfigError(
      'LEDGER_CORS_ORIGINS',
      'must be * alone or origins separated by commas, like https://status.example.com',
    );
  }
  for (const [index, entry] of entries.entries()) {
    if (entry.includes('*')) {
      throw new ConfigError(
        'LEDGER_CORS_ORIGINS',
        `entry ${index + 1} "${entry}" has a wildcard: list each origin, or give * alone for any`,
      );
    }
    const origin = originOf(entry);
    if (origin === entry) continue;
    const hint = origin ? `; did you mean "${origin}"?` : '';
    throw new ConfigError(
      'LEDGER_CORS_ORIGINS',
      `entry ${index + 1} "${entry}" is not an origin (http:// or https://, a host, ` +
        `an optional port and nothing after it, like https://status.example.com)${hint}`,
    );
  }
  return [...new Set(entries)];
}

/** The origin a browser would send from a page at `entry`, or null if `entry` is no http(s) URL. */
function originOf(entry: string): string | null {
  if (!URL.canParse(entry)) return null;
  const url = new URL(entry);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : null;
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 3000;
  const port = decimalInteger(value);
  if (!Number.isInteger(port) || port > 65535) {
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

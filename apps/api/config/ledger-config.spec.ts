import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './ledger-config.js';

describe('delivery and notification settings', () => {
  it('default to the documented policy, the log adapters and no SMTP', () => {
    const config = loadConfig({});
    expect(config.delivery).toEqual({
      maxAttempts: 10,
      baseDelayMs: 500,
      maxDelayMs: 60_000,
      timeoutMs: 5_000,
      concurrency: 4,
    });
    expect(config.webhookMaxResponseBytes).toBe(65_536);
    expect(config.smtp).toBeNull();
    expect(config.notificationWebhook).toBeNull();
  });

  it('read SMTP settings, recipients comma-separated', () => {
    const config = loadConfig({
      LEDGER_SMTP_URL: 'smtp://mail:2525',
      LEDGER_SMTP_TO: 'a@example.com, b@example.com',
    });
    expect(config.smtp).toEqual({
      url: 'smtp://mail:2525',
      from: 'incident-ledger@localhost',
      to: ['a@example.com', 'b@example.com'],
    });
  });

  it.each([
    [{ LEDGER_DELIVERY_MAX_ATTEMPTS: '0' }, 'LEDGER_DELIVERY_MAX_ATTEMPTS'],
    [{ LEDGER_DELIVERY_TIMEOUT_MS: 'soon' }, 'LEDGER_DELIVERY_TIMEOUT_MS'],
    [
      { LEDGER_DELIVERY_BASE_DELAY_MS: '5000', LEDGER_DELIVERY_MAX_DELAY_MS: '100' },
      'LEDGER_DELIVERY_MAX_DELAY_MS',
    ],
    [{ LEDGER_SMTP_URL: 'http://mail' }, 'LEDGER_SMTP_URL'],
    [{ LEDGER_SMTP_URL: 'smtp://mail:25' }, 'LEDGER_SMTP_TO'],
    [{ LEDGER_NOTIFICATION_WEBHOOK_URL: 'ftp://x' }, 'LEDGER_NOTIFICATION_WEBHOOK_URL'],
    // Given without what they belong to: a mistake, not a default.
    [{ LEDGER_SMTP_TO: 'customers@example.com' }, 'LEDGER_SMTP_URL is missing, though LEDGER_SMTP_TO is set'],
    [
      { LEDGER_NOTIFICATION_WEBHOOK_SECRET: 'notify-secret-0123456789' },
      'LEDGER_NOTIFICATION_WEBHOOK_URL is missing, though LEDGER_NOTIFICATION_WEBHOOK_SECRET is set',
    ],
    [{ LEDGER_WEBHOOK_MAX_RESPONSE_BYTES: '1e3' }, 'LEDGER_WEBHOOK_MAX_RESPONSE_BYTES'],
    [{ LEDGER_MIN_FREE_DISK_MB: '-1' }, 'LEDGER_MIN_FREE_DISK_MB'],
    // Credentials would end up in the log with every failed attempt; fetch refuses them anyway.
    [
      { LEDGER_NOTIFICATION_WEBHOOK_URL: 'http://user:pw@localhost:4199/notify' },
      'LEDGER_NOTIFICATION_WEBHOOK_URL must not contain credentials',
    ],
    [
      { LEDGER_NOTIFICATION_WEBHOOK_URL: 'http://localhost:25/notify' },
      'LEDGER_NOTIFICATION_WEBHOOK_URL has port 25',
    ],
    // Deliveries refuse link-local and cloud metadata addresses: a mistake to find at start.
    [
      {
        LEDGER_NOTIFICATION_WEBHOOK_URL: 'http://169.254.169.254/latest/meta-data/',
        LEDGER_NOTIFICATION_WEBHOOK_SECRET: 'notify-secret-0123456789',
      },
      'LEDGER_NOTIFICATION_WEBHOOK_URL must not target 169.254.169.254: it is a link-local address (cloud metadata)',
    ],
    [
      { LEDGER_NOTIFICATION_WEBHOOK_URL: 'https://x', LEDGER_NOTIFICATION_WEBHOOK_SECRET: 'short' },
      'LEDGER_NOTIFICATION_WEBHOOK_SECRET must be at least 16 characters',
    ],
    [
      { LEDGER_NOTIFICATION_WEBHOOK_URL: 'https://x' },
      'LEDGER_NOTIFICATION_WEBHOOK_SECRET is required with LEDGER_NOTIFICATION_WEBHOOK_URL',
    ],
  ])('refuse %j, naming %s', (env, setting) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(setting);
  });
});

describe('subscription limits', () => {
  it('default to 100 per connection and 1,000 on the server', () => {
    expect(loadConfig({}).subscriptionLimits).toEqual({ perConnection: 100, serverWide: 1_000 });
  });

  it('read LEDGER_MAX_SUBSCRIPTIONS_PER_CONNECTION and LEDGER_MAX_SUBSCRIPTIONS', () => {
    const config = loadConfig({
      LEDGER_MAX_SUBSCRIPTIONS_PER_CONNECTION: '5',
      LEDGER_MAX_SUBSCRIPTIONS: '20000',
    });
    expect(config.subscriptionLimits).toEqual({ perConnection: 5, serverWide: 20_000 });
    // The default per connection is never above the server's own limit.
    expect(loadConfig({ LEDGER_MAX_SUBSCRIPTIONS: '50' }).subscriptionLimits).toEqual({
      perConnection: 50,
      serverWide: 50,
    });
  });

  it.each([
    [{ LEDGER_MAX_SUBSCRIPTIONS_PER_CONNECTION: '0' }, 'LEDGER_MAX_SUBSCRIPTIONS_PER_CONNECTION'],
    [{ LEDGER_MAX_SUBSCRIPTIONS_PER_CONNECTION: 'lots' }, 'LEDGER_MAX_SUBSCRIPTIONS_PER_CONNECTION'],
    [{ LEDGER_MAX_SUBSCRIPTIONS: '-1' }, 'LEDGER_MAX_SUBSCRIPTIONS'],
    [{ LEDGER_MAX_SUBSCRIPTIONS: '1e6' }, 'LEDGER_MAX_SUBSCRIPTIONS'],
    // A connection could never reach its own limit: a mistake, not a setting.
    [
      { LEDGER_MAX_SUBSCRIPTIONS_PER_CONNECTION: '100', LEDGER_MAX_SUBSCRIPTIONS: '50' },
      'LEDGER_MAX_SUBSCRIPTIONS_PER_CONNECTION (100) must not be more than LEDGER_MAX_SUBSCRIPTIONS (50)',
    ],
  ])('refuse %j, naming %s', (env, setting) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(setting);
  });
});

describe('LEDGER_CORS_ORIGINS', () => {
  it('is off by default: no CORS headers, same-origin pages only', () => {
    expect(loadConfig({}).corsOrigins).toBeNull();
    expect(loadConfig({ LEDGER_CORS_ORIGINS: ' ' }).corsOrigins).toBeNull();
  });

  it('reads exact origins, comma-separated, without repeats', () => {
    const config = loadConfig({
      LEDGER_CORS_ORIGINS:
        'https://status.example.com, http://localhost:5173,http://[::1]:8080,https://status.example.com',
    });
    expect(config.corsOrigins).toEqual([
      'https://status.example.com',
      'http://localhost:5173',
      'http://[::1]:8080',
    ]);
  });

  it('reads * as any origin', () => {
    expect(loadConfig({ LEDGER_CORS_ORIGINS: ' * ' }).corsOrigins).toBe('*');
  });

  it.each([
    ['status.example.com', 'entry 1 "status.example.com" is not an origin'],
    ['localhost:5173', 'entry 1 "localhost:5173" is not an origin'],
    ['https://status.example.com/app', 'did you mean "https://status.example.com"?'],
    ['https://status.example.com/', 'did you mean "https://status.example.com"?'],
    ['https://status.example.com?x=1', 'did you mean "https://status.example.com"?'],
    ['https://Status.Example.com', 'did you mean "https://status.example.com"?'],
    ['https://status.example.com:443', 'did you mean "https://status.example.com"?'],
    ['http://localhost:5173,ftp://files.example.com', 'entry 2 "ftp://files.example.com" is not an origin'],
    ['null', 'entry 1 "null" is not an origin'],
    ['*,https://status.example.com', 'must be * alone'],
    [',', 'must be * alone or origins separated by commas'],
    ['https://*.example.com', 'entry 1 "https://*.example.com" has a wildcard'],
  ])('refuses %j at start-up: %s', (value, message) => {
    const load = () => loadConfig({ LEDGER_CORS_ORIGINS: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(`Invalid configuration: LEDGER_CORS_ORIGINS `);
    expect(load).toThrow(message);
  });
});

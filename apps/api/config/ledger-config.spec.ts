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
    [
      { LEDGER_NOTIFICATION_WEBHOOK_URL: 'https://x', LEDGER_NOTIFICATION_WEBHOOK_SECRET: 'short' },
      'LEDGER_NOTIFICATION_WEBHOOK_SECRET',
    ],
  ])('refuse %j, naming %s', (env, setting) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(setting);
  });
});

import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { OutgoingNotification } from './channel-adapter.js';
import { SmtpEmailAdapter } from './smtp-email-adapter.js';

/** What a real SMTP server received in one session. */
interface ReceivedMail {
  from: string;
  to: string[];
  data: string;
}

/**
 * Just enough of an SMTP server (RFC 5321, no extensions) to receive mail over a real socket.
 * `rejectRecipients`: answers RCPT with 550, as a server refusing the mailing list does.
 * `silent`: accepts connections and never greets, as a hung server does.
 */
function smtpServer(behaviour: { rejectRecipients?: boolean; silent?: boolean } = {}) {
  const received: ReceivedMail[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (behaviour.silent) return;
    socket.setEncoding('utf8');
    const mail: ReceivedMail = { from: '', to: [], data: '' };
    let buffered = '';
    let inData = false;
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 test ESMTP');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            received.push({ ...mail });
            reply('250 2.0.0 queued');
          } else {
            mail.data += `${line}\n`;
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') reply('250 test');
        else if (verb === 'MAIL') {
          mail.from = line.slice(10);
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          if (behaviour.rejectRecipients) reply('550 5.1.1 no such mailbox');
          else {
            mail.to.push(line.slice(8));
            reply('250 2.1.5 ok');
          }
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 go ahead');
        } else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else reply('502 5.5.1 not implemented');
      }
    });
  });
  return {
    received,
    listen: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () => {
          const address = server.address();
          resolve(`smtp://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
        }),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const notification: OutgoingNotification = {
  notificationId: 'b3c1a8e2-0f6e-4a1c-9d4e-2f7a5b6c8d90',
  incidentId: '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b',
  channel: 'EMAIL',
  incidentStatus: 'IDENTIFIED',
  message: 'We found the cause of the checkout errors and are rolling back.',
  attempt: 1,
};

describe('SmtpEmailAdapter', () => {
  let server: ReturnType<typeof smtpServer> | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function adapterFor(behaviour: Parameters<typeof smtpServer>[0], timeoutMs = 5_000) {
    server = smtpServer(behaviour);
    const url = await server.listen();
    return new SmtpEmailAdapter({
      url,
      from: 'status@example.com',
      to: ['customers@example.com', 'ops@example.com'],
      timeoutMs,
    });
  }

  it('sends one plain-text email per update to every recipient, with a Message-ID its retries share', async () => {
    const adapter = await adapterFor({});

    const { detail } = await adapter.send(notification, new AbortController().signal);

    expect(detail).toBe(`<${notification.notificationId}@incident-ledger>`);
    expect(server!.received).toHaveLength(1);
    const [mail] = server!.received;
    expect(mail.from).toBe('<status@example.com>');
    expect(mail.to).toEqual(['<customers@example.com>', '<ops@example.com>']);
    expect(mail.data).toContain('Subject: Service incident update: Identified\n');
    expect(mail.data).toContain(`Message-ID: <${notification.notificationId}@incident-ledger>\n`);
    // Header names are case-insensitive; nodemailer writes this one X-Ledger-Incident-ID.
    expect(mail.data).toMatch(new RegExp(`^X-Ledger-Incident-Id: ${notification.incidentId}$`, 'im'));
    expect(mail.data).toContain(notification.message);
  });

  it('fails when the server refuses the recipients, so that the notification is retried', async () => {
    const adapter = await adapterFor({ rejectRecipients: true });

    await expect(adapter.send(notification, new AbortController().signal)).rejects.toThrow(/550/);
    expect(server!.received).toHaveLength(0);
  });

  it('gives up on a hung server as soon as shutdown aborts, instead of waiting out its timeout', async () => {
    // A minute of timeout: only the abort can end this send within the test's five seconds.
    const adapter = await adapterFor({ silent: true }, 60_000);
    const shutdown = new AbortController();

    const sending = adapter.send(notification, shutdown.signal);
    setTimeout(() => shutdown.abort(), 100);

    await expect(sending).rejects.toMatchObject({ name: 'AbortError' });
  }, 5_000);
});

import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { describe, expect, it } from '@jest/globals';
import { lookupRefusing, refusalOf, refusalOfUrlHost, RefusedAddressError } from './refused-addresses.js';

describe('refusalOf', () => {
  it.each([
    ['169.254.169.254', 'a link-local address (cloud metadata)'],
    ['169.254.0.0', 'a link-local address (cloud metadata)'],
    ['169.254.255.255', 'a link-local address (cloud metadata)'],
    ['::ffff:169.254.169.254', 'a link-local address (cloud metadata)'],
    ['::ffff:a9fe:a9fe', 'a link-local address (cloud metadata)'],
    ['fe80::', 'a link-local address'],
    ['fe80::1', 'a link-local address'],
    ['FE80::A9FE:A9FE', 'a link-local address'],
    ['febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'a link-local address'],
    ['fd00:ec2::254', "AWS's IPv6 cloud metadata address"],
    ['100.100.100.200', "Alibaba Cloud's metadata address"],
    ['192.0.0.192', "Oracle Cloud's metadata address"],
    ['0.0.0.0', 'the unspecified address'],
    ['::ffff:0.0.0.0', 'the unspecified address'],
    ['::', 'the unspecified address'],
  ])('refuses %s: %s', (address, why) => {
    expect(refusalOf(address)).toEqual({ address, why });
  });

  it.each([
    // Next to the refused ranges.
    '169.253.255.255',
    '169.255.0.0',
    'fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    'fec0::',
    'fd00:ec2::253',
    'fd00:ec2::255',
    '100.100.100.199',
    '100.100.100.201',
    '192.0.0.191',
    '192.0.0.193',
    '0.0.0.1',
    '::2',
    // Private ranges and loopback: receivers on the internal network.
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.10',
    '127.0.0.1',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:10.1.2.3',
    'fd12:3456:789a::1',
    '93.184.215.14',
    '2606:2800:21f:cb07:6820:80da:af6b:8b2c',
  ])('allows %s', (address) => {
    expect(refusalOf(address)).toBeNull();
  });
});

describe('refusalOfUrlHost', () => {
  it.each([
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    // URLs normalise other spellings of an IPv4 address to the dotted one.
    ['http://2852039166/', '169.254.169.254'],
    ['http://0xa9.0xfe.0xa9.0xfe/', '169.254.169.254'],
    ['http://169.254.169.254./', '169.254.169.254'],
    ['http://[::ffff:169.254.169.254]:8080/', '::ffff:a9fe:a9fe'],
    ['https://[fe80::1]/hook', 'fe80::1'],
    ['http://[fd00:ec2::254]/', 'fd00:ec2::254'],
    ['http://0/', '0.0.0.0'],
    ['http://[::]:3000/', '::'],
  ])('refuses %s, whose host is %s', (url, address) => {
    expect(refusalOfUrlHost(new URL(url))).toMatchObject({ address });
  });

  it.each(['http://127.0.0.1:3000/hook', 'http://[::1]/', 'https://10.0.0.5/', 'https://metadata.example/'])(
    'allows %s',
    (url) => {
      expect(refusalOfUrlHost(new URL(url))).toBeNull();
    },
  );
});

/** What lookupRefusing answers, as an error or as dns.lookup's (address, family) pair. */
function lookUp(hostname: string, options: LookupOptions) {
  return new Promise<{ error: Error | null; address: string | LookupAddress[]; family?: number }>((resolve) =>
    lookupRefusing(hostname, options, (error, address, family) => resolve({ error, address, family })),
  );
}

describe('lookupRefusing', () => {
  // dns.lookup gives an IP address back as it is (getaddrinfo parses it): a real resolution to a
  // refused address, as no host name resolves to one here without a DNS server of the test's own.
  it.each([{}, { all: true }, { family: 4 }])(
    'refuses a name resolving to a refused address (%j)',
    async (options) => {
      const { error } = await lookUp('169.254.169.254', options);
      expect(error).toBeInstanceOf(RefusedAddressError);
      expect(error!.message).toBe(
        'refused: 169.254.169.254 resolves to 169.254.169.254, a link-local address (cloud metadata); ' +
          'webhooks may not target it',
      );
    },
  );

  it.each([{}, { all: true }])('answers as dns.lookup for an allowed name (%j)', async (options) => {
    const expected = await new Promise((resolve, reject) =>
      lookup('localhost', options, (error, address, family) =>
        error ? reject(error) : resolve({ error: null, address, family }),
      ),
    );
    expect(await lookUp('localhost', options)).toEqual(expected);
  });

  it('passes on a resolution error', async () => {
    const { error } = await lookUp('no-such-host.invalid', {});
    expect(error).not.toBeInstanceOf(RefusedAddressError);
    expect((error as NodeJS.ErrnoException).code).toMatch(/^(ENOTFOUND|EAI_AGAIN)$/);
  });
});

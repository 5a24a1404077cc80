import { lookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * The addresses webhooks and the notification WEBHOOK channel may not reach: cloud metadata
 * services answer on link-local addresses with the server's own credentials, and a delivery log
 * showing each attempt's status would make the server a probe of them. Private ranges and loopback
 * stay allowed: a receiver on the internal network is a normal case.
 */
const REFUSED: Array<{ why: string; range: [string, number, 'ipv4' | 'ipv6'] }> = [
  { why: 'a link-local address (cloud metadata)', range: ['169.254.0.0', 16, 'ipv4'] },
  { why: 'a link-local address', range: ['fe80::', 10, 'ipv6'] },
  { why: "AWS's IPv6 cloud metadata address", range: ['fd00:ec2::254', 128, 'ipv6'] },
  // Outside the link-local range, but what these clouds' instances reach their metadata on.
  { why: "Alibaba Cloud's metadata address", range: ['100.100.100.200', 32, 'ipv4'] },
  { why: "Oracle Cloud's metadata address", range: ['192.0.0.192', 32, 'ipv4'] },
  { why: 'the unspecified address', range: ['0.0.0.0', 32, 'ipv4'] },
  { why: 'the unspecified address', range: ['::', 128, 'ipv6'] },
];

// Node's BlockList matches an IPv4-mapped IPv6 address (::ffff:169.254.169.254) with IPv4 ranges.
const RANGES = REFUSED.map(({ why, range }) => {
  const list = new BlockList();
  list.addSubnet(...range);
  return { why, list };
});

/** An IP address deliveries may not connect to, and why. */
export interface Refusal {
  address: string;
  why: string;
}

/** The refusal of `address`, an IP address; null when deliveries may connect to it. */
export function refusalOf(address: string): Refusal | null {
  const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  const refused = RANGES.find(({ list }) => list.check(address, family));
  return refused ? { address, why: refused.why } : null;
}

/**
 * The refusal of the IP address a URL's host is written as; null for an allowed address or a host
 * name (whose addresses are checked as it is resolved, by lookupRefusing).
 */
export function refusalOfUrlHost(url: URL): Refusal | null {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) === 0 ? null : refusalOf(host);
}

/** A delivery was refused before connecting: its URL's host is, or resolves to, a refused address. */
export class RefusedAddressError extends Error {
  constructor(refusal: Refusal, hostname?: string) {
    const target = hostname
      ? `${hostname} resolves to ${refusal.address}, ${refusal.why}`
      : `${refusal.address} is ${refusal.why}`;
    super(`refused: ${target}; webhooks may not target it`);
    this.name = 'RefusedAddressError';
  }
}

/**
 * dns.lookup, failing with RefusedAddressError when the name resolves to a refused address. Used as
 * the connection's own lookup, it checks the very addresses connected to: a name that resolved to
 * an allowed address at registration, or at the previous lookup, cannot get around it (DNS
 * rebinding). With `all` (Node's default, trying each address family), one refused address among
 * them refuses the name.
 */
export const lookupRefusing: LookupFunction = (hostname, options, callback) => {
  lookup(hostname, options, (error, address, family) => {
    if (error) return callback(error, address, family);
    const addresses = Array.isArray(address) ? address.map((each) => each.address) : [address];
    const refusal = addresses.map(refusalOf).find((each) => each !== null);
    if (refusal) return callback(new RefusedAddressError(refusal, hostname), address, family);
    callback(null, address, family);
  });
};

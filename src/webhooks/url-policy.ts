/**
 * Where webhooks may be sent. A webhook URL is chosen by a client, and this service POSTs to it
 * from inside the operator's network, so an address that reaches that network (loopback, private,
 * link-local, the cloud metadata service at 169.254.169.254 …) would be a server-side request
 * forgery. Only public unicast addresses are allowed, checked when the URL is registered (IP
 * literals, `localhost`), and again on every delivery: the URL itself, and what its name resolves
 * to then, on the connection's own lookup.
 * In production only `https` is allowed; elsewhere (development, tests) `http` and `https` to the
 * loopback interface are allowed too, for a receiver on the developer's machine.
 */
import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export type UrlPolicy = { production: boolean };

export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

const LOOPBACK_NAMES = new Set(['localhost', 'localhost.']);

const GLOBAL_UNICAST_IPV6 = ipaddr.parseCIDR('2000::/3');

/**
 * What kind of address this is: only `unicast` (public) is allowed in production; `loopback` also
 * elsewhere. An IPv6 address is public only inside 2000::/3 (ipaddr.js calls some others, e.g. the
 * IPv4-compatible ::a.b.c.d, unicast too).
 */
export function addressRange(address: string): string {
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  if (range === 'unicast' && parsed.kind() === 'ipv6' && !parsed.match(GLOBAL_UNICAST_IPV6)) return 'reserved';
  return range;
}

function addressAllowed(address: string, policy: UrlPolicy): boolean {
  const range = addressRange(address);
  return range === 'unicast' || (!policy.production && range === 'loopback');
}

/** The checks made when an endpoint is registered: scheme, no credentials, and an address (if it is one) that may be reached. */
export function checkWebhookUrl(raw: string, policy: UrlPolicy): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'must be an absolute URL' };
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const loopbackName = LOOPBACK_NAMES.has(host) || host.endsWith('.localhost');
  const literal = ipaddr.isValid(host) ? host : undefined;
  const isLoopback = loopbackName || (literal !== undefined && addressRange(literal) === 'loopback');
  if (url.username || url.password) return { ok: false, reason: 'must not carry a user name or password' };
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && !policy.production && isLoopback)) {
    return { ok: false, reason: policy.production ? 'must use https' : 'must use https (http only to localhost or 127.0.0.1 outside production)' };
  }
  if (loopbackName && policy.production) return { ok: false, reason: 'must not point at this machine (localhost)' };
  if (literal !== undefined && !addressAllowed(literal, policy)) return { ok: false, reason: `must not point at a ${addressRange(literal)} address` };
  return { ok: true, url };
}

/**
 * A DNS lookup for the delivery's connection that refuses a name resolving to any address the
 * policy does not allow, so the address connected to is the one checked (no re-resolution between
 * the check and the connection, as DNS rebinding would need).
 */
export function vettedLookup(policy: UrlPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses as dns.LookupAddress[];
      const refused = list.find((a) => !addressAllowed(a.address, policy));
      if (refused || list.length === 0) {
        const error = Object.assign(new Error(`${hostname} resolves to ${refused ? `a ${addressRange(refused.address)} address (${refused.address})` : 'nothing'}: refused`), { code: 'EADDRREFUSED' });
        return callback(error, '', 4);
      }
      if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      const first = list[0] as dns.LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
}

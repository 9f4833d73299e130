// The address a client is counted under (per-address admission limits). Behind an ingress
// every socket comes from the ingress controller, so without this one busy address would
// share a single MAX_PENDING_PER_IP budget between all users. X-Forwarded-For is believed
// only as far as it was written by proxies the operator named: walking it from the right,
// the first hop that is not a trusted proxy is the client — anything to its left was sent
// by the client itself and may be forged.
import { BlockList, isIP } from 'node:net';

export type TrustedProxies = BlockList;

// `entries` are addresses or CIDR ranges, already validated by the config schema.
export function trustedProxies(entries: readonly string[] | undefined): TrustedProxies | undefined {
  if (entries === undefined || entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const { address, prefix } = parseCidr(entry)!;
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(address, prefix ?? (family === 'ipv6' ? 128 : 32), family);
  }
  return list;
}

// "10.0.0.0/8", "fd00::/8", "192.168.1.7" → parts; undefined when it is neither.
export function parseCidr(entry: string): { address: string; prefix: number | undefined } | undefined {
  const [address = '', prefixText, ...rest] = entry.trim().split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return undefined;
  if (prefixText === undefined) return { address, prefix: undefined };
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= (version === 6 ? 128 : 32) ? { address, prefix } : undefined;
}

// IPv4 peers on a dual-stack socket show up as ::ffff:a.b.c.d; count them as a.b.c.d so a
// trusted "10.0.0.0/8" matches and one client is not two addresses.
export function normalizeAddress(address: string): string {
  const a = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  return mapped ? mapped[1]! : a;
}

function trusted(list: TrustedProxies, address: string): boolean {
  const version = isIP(address);
  return version !== 0 && list.check(address, version === 6 ? 'ipv6' : 'ipv4');
}

export function clientAddress(peer: string, forwardedFor: string | undefined, list: TrustedProxies | undefined): string {
  let client = normalizeAddress(peer);
  if (list === undefined || !trusted(list, client) || !forwardedFor) return client;
  const hops = forwardedFor.split(',').map(normalizeAddress).filter((h) => h !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    // A hop that is not an address was not written by a proxy we trust to speak for it;
    // stay with the last address that a trusted proxy vouched for.
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!trusted(list, hop)) return hop;
  }
  return client;
}

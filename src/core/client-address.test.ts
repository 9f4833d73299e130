import { describe, expect, it } from 'vitest';
import { clientAddress, normalizeAddress, parseCidr, trustedProxies } from './client-address.js';

describe('clientAddress', () => {
  const ingress = trustedProxies(['10.0.0.0/8', 'fd00::/8', '127.0.0.1']);

  it('is the peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', undefined)).toBe('203.0.113.9');
    expect(trustedProxies([])).toBeUndefined();
  });

  it('is the peer when the peer is not a trusted proxy (a client cannot forge its address)', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', ingress)).toBe('203.0.113.9');
  });

  it('is the address a trusted ingress forwarded for', () => {
    expect(clientAddress('10.1.2.3', '198.51.100.1', ingress)).toBe('198.51.100.1');
    expect(clientAddress('fd00::5', '2001:db8::1', ingress)).toBe('2001:db8::1');
    expect(clientAddress('::ffff:127.0.0.1', '198.51.100.1', ingress)).toBe('198.51.100.1');
  });

  it('walks the chain from the right and stops at the first untrusted hop, ignoring what the client wrote before it', () => {
    // client forged "1.1.1.1", the real client is 198.51.100.1, then two trusted proxies
    expect(clientAddress('10.0.0.2', '1.1.1.1, 198.51.100.1, 10.0.0.1', ingress)).toBe('198.51.100.1');
  });

  it('stays with the last vouched-for address when a hop is not an address', () => {
    expect(clientAddress('10.0.0.2', 'garbage, 10.0.0.1', ingress)).toBe('10.0.0.1');
    expect(clientAddress('10.0.0.2', 'garbage', ingress)).toBe('10.0.0.2');
  });

  it('is the peer when a trusted proxy sent no header, and the leftmost hop when every hop is trusted', () => {
    expect(clientAddress('10.0.0.2', undefined, ingress)).toBe('10.0.0.2');
    expect(clientAddress('10.0.0.2', '', ingress)).toBe('10.0.0.2');
    expect(clientAddress('10.0.0.2', '10.9.9.9, 10.0.0.1', ingress)).toBe('10.9.9.9');
  });
});

describe('parseCidr and normalizeAddress', () => {
  it('accepts addresses and ranges, and rejects anything else', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8 });
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: undefined });
    for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0/8', 'localhost', '10.0.0.0/8/1', '10.0.0.0/x', '']) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });

  it('folds IPv4-mapped IPv6 addresses to IPv4', () => {
    expect(normalizeAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeAddress(' 2001:DB8::1 ')).toBe('2001:db8::1');
  });
});

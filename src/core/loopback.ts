// Whether a Host header (or URL host) names this machine's loopback interface. A page
// served from another name that merely resolves to 127.0.0.1 (DNS rebinding) sends its
// own name in Host, so this is how development mode tells a local browser tab apart.

export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h === '[::1]' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

// "localhost:8000", "[::1]:8000", "127.0.0.1" → true; anything else, or no Host, → false.
export function isLoopbackHost(host: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(:\d{1,5})?$/.exec(host.trim());
  return m !== null && isLoopbackHostname(m[1]!);
}

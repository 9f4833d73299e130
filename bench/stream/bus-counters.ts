// The bus counters of a server's /metrics, summed over labels: what crossed replicas in a
// bench row (published, received, dropped by reason, sequence gaps), so a row that lost
// live deltas says where they went; and the event loop's delay over the row.
export interface BusCounters {
  published: number;
  received: number;
  gaps: number;
  dropped: Record<string, number>;
  // the event loop's delay since the previous scrape (prom-client resets it on each one),
  // in ms: a server whose tokens wait shows it here first
  loopP99: number;
  loopMax: number;
}

export async function busCounters(metricsPort: number): Promise<BusCounters> {
  const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
  const out: BusCounters = { published: 0, received: 0, gaps: 0, dropped: {}, loopP99: NaN, loopMax: NaN };
  for (const line of text.split('\n')) {
    const lag = /^nodejs_eventloop_lag_(p99|max)_seconds ([0-9.e+-]+)$/.exec(line);
    if (lag) out[lag[1] === 'p99' ? 'loopP99' : 'loopMax'] = Number(lag[2]) * 1000;
    const m = /^chat_bus_(published|received|dropped|gaps)_total(\{[^}]*\})? ([0-9.e+]+)$/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (m[1] === 'dropped') {
      const reason = /reason="([^"]+)"/.exec(m[2] ?? '')?.[1] ?? '?';
      out.dropped[reason] = (out.dropped[reason] ?? 0) + v;
    } else out[m[1] as 'published' | 'received' | 'gaps'] += v;
  }
  return out;
}

export function busDelta(a: BusCounters, b: BusCounters): string {
  const dropped = Object.entries(b.dropped).map(([k, v]) => `${k} ${v - (a.dropped[k] ?? 0)}`).filter((s) => !s.endsWith(' 0'));
  return `published ${b.published - a.published}, received ${b.received - a.received}, gaps ${b.gaps - a.gaps}, dropped ${dropped.length ? dropped.join(', ') : 0}; event loop delay p99 ${b.loopP99.toFixed(1)} ms, max ${b.loopMax.toFixed(1)} ms`;
}

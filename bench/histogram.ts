// Server-side latency from the server's own Prometheus histograms: the bench takes a snapshot
// before and after a phase and reports the quantile of the difference the way PromQL's
// histogram_quantile does (linear within a bucket). Set beside the client-side figure, it
// separates what the server spent from what the shared machine and the bench client added.

export type Buckets = Map<number, number>; // upper bound (s) → cumulative count

// The buckets of one unlabelled histogram (or, with `labels`, the series whose label set
// contains them) in a Prometheus text exposition.
export function parseBuckets(text: string, name: string, labels: Record<string, string> = {}): Buckets {
  const out: Buckets = new Map();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const m = /\{(.*)\}\s+(\S+)$/.exec(line);
    if (!m) continue;
    const set = m[1]!;
    if (!want.every((w) => set.includes(w))) continue;
    const le = /(?:^|,)le="([^"]+)"/.exec(set)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + Number(m[2]));
  }
  return out;
}

export function diffBuckets(after: Buckets, before: Buckets): Buckets {
  const out: Buckets = new Map();
  for (const [le, n] of after) out.set(le, n - (before.get(le) ?? 0));
  return out;
}

// q in (0, 1). NaN without observations; the last finite bound when the quantile falls in
// +Inf, as histogram_quantile does.
export function histogramQuantile(q: number, b: Buckets): number {
  const bounds = [...b.keys()].sort((x, y) => x - y);
  const total = b.get(Infinity) ?? (bounds.length ? b.get(bounds[bounds.length - 1]!)! : 0);
  if (!total) return NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const le of bounds) {
    const count = b.get(le)!;
    if (count >= rank) {
      if (le === Infinity) return prevBound;
      return prevBound + ((le - prevBound) * (rank - prevCount)) / Math.max(1, count - prevCount);
    }
    prevBound = le;
    prevCount = count;
  }
  return prevBound;
}

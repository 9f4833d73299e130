// A JSON merge patch (RFC 7386) that turns `before` into `after`. A merge patch only
// removes a key that it sets to null, so fields that left the desired status (e.g.
// schema.failedHash after a retry) must be nulled explicitly or they stay forever.
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export function mergePatch(before: unknown, after: unknown): unknown {
  if (!isObj(before) || !isObj(after)) return after;
  const out: Obj = {};
  for (const [k, v] of Object.entries(after)) {
    if (v === undefined) continue;
    out[k] = isObj(v) && isObj(before[k]) ? mergePatch(before[k], v) : v;
  }
  for (const k of Object.keys(before)) if (after[k] === undefined) out[k] = null;
  return out;
}

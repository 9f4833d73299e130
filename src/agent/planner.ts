// The built-in agent's decision logic: which tools a user message calls for, with which
// arguments, in the order the message asks for them. Deterministic pattern matching, no model:
// the message is split into clauses ("what is 6*7 and what time is it" → two), and each clause
// is classified as a document search, a conversation search, a time question or arithmetic, in
// that priority.
import { parse, type Node } from './tools/arithmetic.js';

export type PlannedCall =
  | { tool: 'calculator'; arguments: { expression: string }; label: string }
  | { tool: 'current_time'; arguments: { timezone?: string }; unknownPlace?: string }
  | { tool: 'search_conversation'; arguments: { query: string } }
  | { tool: 'search_documents'; arguments: { query: string } };

const STARTERS = String.raw`(?:what|what's|whats|how|calculate|calc|compute|evaluate|solve|search|find|look|did|do|have|tell|give|show|when|remind|could|can|please)`;
const CLAUSE_SPLIT = new RegExp(
  String.raw`\?+|;|!+|\n+|\.(?=\s|$)|,?\s+(?:and|then|also|but)\s+(?=(?:also\s+)?${STARTERS}\b)|,\s*(?=${STARTERS}\b)`,
  'i',
);

export function splitClauses(message: string): string[] {
  return message.split(CLAUSE_SPLIT).map((c) => c.trim()).filter((c) => c !== '');
}

// --- conversation search -------------------------------------------------------------------

const SEARCH_PATTERNS: RegExp[] = [
  /\b(?:what|when|where)\s+(?:did|have|do)\s+(?:i|we|you)\s+(?:ever\s+)?(?:say|said|write|wrote|written|mention(?:ed)?|ask(?:ed)?|tell\s+you|told\s+you|talk(?:ed)?|discuss(?:ed)?)\s+(?:about|regarding|on|of|concerning)\s+(.+)/i,
  /\b(?:did|have)\s+(?:i|we|you)\s+(?:ever\s+|already\s+)?(?:talk(?:ed)?|speak|spoken|chat(?:ted)?|discuss(?:ed)?|mention(?:ed)?|say|said|bring|brought)\s+(?:up\s+)?(?:anything\s+)?(?:about\s+)?(.+)/i,
  /\bremind\s+me\s+(?:what\s+(?:i|we|you)\s+(?:said|say|wrote)\s+)?(?:about|of)\s+(.+)/i,
  /\b(?:search|look)\s+(?:through\s+|in\s+)?(?:(?:the|this|our|my)\s+(?:conversation|chat|history|messages)\s+)?(?:for|up)\s+(.+)/i,
  /\bfind\s+(?:(?:the|any|all|earlier|previous|older|my|our)\s+)*(?:messages?\s+)?(?:about|with|mentioning|containing|on|that\s+mention(?:ed)?)\s+(.+)/i,
];
const FIND_ANYTHING = /\bfind\s+(.+)/i;

const TRAILING_NOISE = /\s*(?:[?.!,;:]+|\b(?:earlier|before|previously|so\s+far|here|again|please|in\s+(?:this|our|the)\s+(?:conversation|chat))\b)\s*$/i;
const LEADING_NOISE = /^\s*(?:the\s+(?:word|words|phrase|topic|subject)(?:\s+of)?|a|an|the|my|our|your|some|any)\s+/i;

export function cleanQuery(raw: string): string {
  let q = raw.trim();
  for (let prev = ''; prev !== q;) {
    prev = q;
    q = q.replace(TRAILING_NOISE, '').replace(LEADING_NOISE, '').trim();
    q = q.replace(/^["'“‘«](.*)["'”’»]$/, '$1').trim();
  }
  // Punctuation alone is not something a person searches for.
  return /[\p{L}\p{N}]/u.test(q) ? q.slice(0, 200) : '';
}

function searchQuery(clause: string): string | undefined {
  for (const re of SEARCH_PATTERNS) {
    const m = re.exec(clause);
    if (m) {
      const q = cleanQuery(m[1]!);
      if (q !== '') return q;
    }
  }
  const m = FIND_ANYTHING.exec(clause);
  // "find 2+2" is arithmetic, not a search.
  if (m && expressions(clause, true).length === 0) {
    const q = cleanQuery(m[1]!);
    if (q !== '') return q;
  }
  return undefined;
}

// --- document search -----------------------------------------------------------------------

const DOCS = String.raw`(?:my|our|the|uploaded)\s+(?:uploaded\s+)?(?:documents?|docs|notes|files|uploads)`;
const DOC_MENTION = new RegExp(String.raw`\b${DOCS}\b`, 'i');
const DOC_PATTERNS: RegExp[] = [
  new RegExp(String.raw`\b(?:search|look\s+(?:through|in)|check|find\s+in)\s+(?:in\s+|through\s+)?${DOCS}\s+(?:for|about|on)\s+(.+)`, 'i'),
  new RegExp(String.raw`\bwhat\s+(?:do|does)\s+${DOCS}\s+say\s+(?:about|on|regarding)\s+(.+)`, 'i'),
];
const DOC_PHRASE = new RegExp(String.raw`\s*,?\s*\b(?:(?:search|check|look\s+(?:through|in))\s+|(?:in|from|according\s+to|using|based\s+on)\s+)?${DOCS}\b\s*,?`, 'i');

// A clause that names the user's documents asks to search them: "search my notes for X",
// "what do my documents say about X", "how do I reset the router, according to my docs".
function documentQuery(clause: string): string | undefined {
  if (!DOC_MENTION.test(clause)) return undefined;
  for (const re of DOC_PATTERNS) {
    const m = re.exec(clause);
    if (m) {
      const q = cleanQuery(m[1]!);
      if (q !== '') return q;
    }
  }
  const q = cleanQuery(clause.replace(DOC_PHRASE, ' ').replace(/\s+/g, ' '));
  return q === '' ? undefined : q;
}

// --- time ------------------------------------------------------------------------------------

const TIME_QUESTION = /\bwhat(?:'s|’s|s|\s+is)?\s+(?:the\s+)?(?:current\s+|local\s+)?(?:time|date|day)\b|\b(?:current|local)\s+(?:time|date)\b|\btime\s+(?:is\s+it|now|in|at)\b|\bdate\s+(?:is\s+it|today|in)\b|\bwhat\s+(?:time|day)\b|\btoday'?s\s+date\b|\b(?:tell|give|show)\s+me\s+the\s+(?:time|date)\b|^\s*(?:the\s+)?(?:time|date)\s*$/i;

// A few places people ask about, keyed by lowercase name; anything else needs an IANA name.
export const CITY_ZONES: Record<string, string> = {
  'tokyo': 'Asia/Tokyo', 'osaka': 'Asia/Tokyo', 'seoul': 'Asia/Seoul', 'beijing': 'Asia/Shanghai',
  'shanghai': 'Asia/Shanghai', 'hong kong': 'Asia/Hong_Kong', 'singapore': 'Asia/Singapore',
  'bangkok': 'Asia/Bangkok', 'delhi': 'Asia/Kolkata', 'new delhi': 'Asia/Kolkata', 'mumbai': 'Asia/Kolkata',
  'bangalore': 'Asia/Kolkata', 'india': 'Asia/Kolkata', 'dubai': 'Asia/Dubai', 'moscow': 'Europe/Moscow',
  'istanbul': 'Europe/Istanbul', 'athens': 'Europe/Athens', 'paris': 'Europe/Paris', 'london': 'Europe/London',
  'berlin': 'Europe/Berlin', 'madrid': 'Europe/Madrid', 'rome': 'Europe/Rome', 'amsterdam': 'Europe/Amsterdam',
  'zurich': 'Europe/Zurich', 'stockholm': 'Europe/Stockholm', 'cairo': 'Africa/Cairo', 'lagos': 'Africa/Lagos',
  'nairobi': 'Africa/Nairobi', 'johannesburg': 'Africa/Johannesburg', 'new york': 'America/New_York',
  'nyc': 'America/New_York', 'boston': 'America/New_York', 'toronto': 'America/Toronto', 'chicago': 'America/Chicago',
  'denver': 'America/Denver', 'los angeles': 'America/Los_Angeles', 'san francisco': 'America/Los_Angeles',
  'seattle': 'America/Los_Angeles', 'mexico city': 'America/Mexico_City', 'sao paulo': 'America/Sao_Paulo',
  'são paulo': 'America/Sao_Paulo', 'buenos aires': 'America/Argentina/Buenos_Aires', 'sydney': 'Australia/Sydney',
  'melbourne': 'Australia/Melbourne', 'auckland': 'Pacific/Auckland', 'honolulu': 'Pacific/Honolulu',
  'utc': 'UTC', 'gmt': 'UTC',
};

const IANA_AFTER_IN = /\b(?:in|for|at)\s+([A-Za-z][A-Za-z_]*(?:\/[A-Za-z0-9_+-]+)+)/i;
const IANA_KNOWN_REGION = /\b((?:Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)\/[A-Za-z0-9_+-]+(?:\/[A-Za-z0-9_+-]+)?)/i;
const PLACE_AFTER_IN = /\bin\s+([A-Za-z][A-Za-z .'-]{0,40}?)\s*(?:right\s+now|now|today|currently)?\s*$/i;

function timeRequest(clause: string): Extract<PlannedCall, { tool: 'current_time' }> | undefined {
  if (!TIME_QUESTION.test(clause)) return undefined;
  const iana = IANA_AFTER_IN.exec(clause) ?? IANA_KNOWN_REGION.exec(clause);
  if (iana) return { tool: 'current_time', arguments: { timezone: iana[1]! } };
  const lower = clause.toLowerCase();
  let best: { at: number; zone: string } | undefined;
  for (const [city, zone] of Object.entries(CITY_ZONES)) {
    const m = new RegExp(String.raw`(?:^|[^\p{L}])${city}(?![\p{L}])`, 'u').exec(lower);
    // The place named first in the sentence wins.
    if (m && (!best || m.index < best.at)) best = { at: m.index, zone };
  }
  if (best) return { tool: 'current_time', arguments: { timezone: best.zone } };
  const place = PLACE_AFTER_IN.exec(clause)?.[1]?.trim();
  return place ? { tool: 'current_time', arguments: {}, unknownPlace: place } : { tool: 'current_time', arguments: {} };
}

// --- arithmetic ------------------------------------------------------------------------------

const TRIGGER = /\b(?:what(?:'s|’s|s)?|how\s+much|calculate|calc|compute|evaluate|eval|solve|work\s+out|equals?|result\s+of|value\s+of|find)\b|=/i;
const NAMES = 'sqrt|abs|round|floor|ceil|min|max|log|ln|exp|sin|cos|tan|pi|e';
const TOKEN = String.raw`\d*\.?\d+(?:e[+-]?\d+)?|\*\*|[+\-*/%^×÷−(),]|\b(?:${NAMES})\b`;
const RUN = new RegExp(String.raw`(?:${TOKEN})(?:\s*(?:${TOKEN}))*`, 'gi');
const DATE_LIKE = /^\d{1,4}[-/]\d{1,2}[-/]\d{1,4}$/;

// Spelled-out operators, applied before looking for expressions.
const WORD_OPERATORS: [RegExp, string][] = [
  [/\bsquare\s+root\s+of\s+(\d*\.?\d+)/gi, 'sqrt($1)'],
  [/\b(?:to\s+the\s+power\s+of|raised\s+to(?:\s+the\s+power\s+of)?)\b/gi, '^'],
  [/\bsquared\b/gi, '^2'],
  [/\bcubed\b/gi, '^3'],
  [/\b(?:multiplied\s+by|times)\b/gi, '*'],
  [/\b(?:divided\s+by|over)\b/gi, '/'],
  [/\bplus\b/gi, '+'],
  [/\bminus\b/gi, '-'],
  [/\b(?:mod|modulo)\b/gi, '%'],
  [/(\d)\s*[x×]\s*(?=[\d(])/gi, '$1*'],
];

interface Found { at: number; call: Extract<PlannedCall, { tool: 'calculator' }> }

function trimRun(run: string): string {
  let r = run.trim().replace(/^[,*/%^×÷)]+/, '').replace(/[,+\-*/%^×÷−(]+$/, '').trim();
  const count = (ch: string) => r.split(ch).length - 1;
  while (r.endsWith(')') && count(')') > count('(')) r = r.slice(0, -1).trim();
  while (r.startsWith('(') && count('(') > count(')')) r = r.slice(1).trim();
  return r;
}

// Splits "2+2, 3*3" into two runs while keeping "max(1, 2)" whole.
function splitTopLevel(run: string): { text: string; offset: number }[] {
  const parts: { text: string; offset: number }[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < run.length; i++) {
    const c = run[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth <= 0) {
      parts.push({ text: run.slice(start, i), offset: start });
      start = i + 1;
    }
  }
  parts.push({ text: run.slice(start), offset: start });
  return parts;
}

function isComputation(node: Node, triggered: boolean): boolean {
  if (node.kind === 'binary' || node.kind === 'call') return true;
  if (node.kind === 'unary') return isComputation(node.operand, triggered) && node.operand.kind !== 'num';
  return triggered && node.kind === 'const';
}

function expressions(clause: string, triggered: boolean): Found[] {
  const found: Found[] = [];
  let text = clause;
  // "17% of 240" is a percentage, not 17 modulo something.
  text = text.replace(/(\d*\.?\d+)\s*(?:%|percent)\s+of\s+(\d*\.?\d+)/gi, (m, a: string, b: string, at: number) => {
    found.push({ at, call: { tool: 'calculator', arguments: { expression: `${a}/100*${b}` }, label: `${a}% of ${b}` } });
    return ' '.repeat(m.length);
  });
  for (const [re, to] of WORD_OPERATORS) text = text.replace(re, to);
  for (const m of text.matchAll(RUN)) {
    for (const part of splitTopLevel(m[0])) {
      const expr = trimRun(part.text);
      if (expr === '' || DATE_LIKE.test(expr)) continue;
      const at = m.index + part.offset;
      let ok: boolean;
      try {
        ok = isComputation(parse(expr), triggered);
      } catch {
        // Unparseable but clearly meant as math: let the calculator explain what is wrong.
        ok = triggered && /\d/.test(expr) && /[+\-*/%^×÷(]/.test(expr);
      }
      if (ok) found.push({ at, call: { tool: 'calculator', arguments: { expression: expr }, label: expr } });
    }
  }
  return found.sort((a, b) => a.at - b.at);
}

function arithmetic(clause: string): PlannedCall[] {
  const triggered = TRIGGER.test(clause);
  const found = expressions(clause, triggered);
  if (triggered) return found.map((f) => f.call);
  // Without a question word only a bare expression ("2+2", "2+2 = ?") counts, so that a phone
  // number or a date in ordinary text does not set off the calculator.
  if (found.length === 1) {
    const rest = clause.replace(/[\s?=!.,:]/g, '');
    const expr = found[0]!.call.arguments.expression.replace(/\s/g, '');
    if (rest === expr) return [found[0]!.call];
  }
  return [];
}

// --- plan ------------------------------------------------------------------------------------

export function planToolCalls(message: string): PlannedCall[] {
  const calls: PlannedCall[] = [];
  const seen = new Set<string>();
  const add = (c: PlannedCall) => {
    const key = `${c.tool}:${JSON.stringify(c.arguments)}`;
    if (seen.has(key)) return;
    seen.add(key);
    calls.push(c);
  };
  for (const clause of splitClauses(message)) {
    const docQuery = documentQuery(clause);
    if (docQuery !== undefined) { add({ tool: 'search_documents', arguments: { query: docQuery } }); continue; }
    const query = searchQuery(clause);
    if (query !== undefined) { add({ tool: 'search_conversation', arguments: { query } }); continue; }
    const time = timeRequest(clause);
    if (time) { add(time); continue; }
    arithmetic(clause).forEach(add);
  }
  return calls;
}

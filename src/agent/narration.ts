// The words of the built-in agent: its reasoning steps before it acts, and its answer built
// from the tool outcomes. Pure functions, so every phrasing is testable without running tools.
import type { PlannedCall } from './planner.js';
import type { ToolOutcome } from './tools/registry.js';
import type { SearchHit } from '../core/agent.js';

export interface ExecutedCall {
  plan: PlannedCall;
  outcome: ToolOutcome;
}

// The one list of what the agent can do: the thinking names the tools, the answer shows
// each with an example, both from here and both for the tools the agent actually has.
const TOOLS = {
  calculator: 'a calculator (try “what is 2*(3+4)?”)',
  current_time: 'a clock for any time zone (“what time is it in Tokyo?”)',
  search_conversation: 'a search over this conversation (“what did I say about pizza?”)',
  search_documents: 'a search over your uploaded documents (“what do my documents say about the wifi password?”)',
} as const;
const ALL_TOOLS = Object.keys(TOOLS);
const NUMBERS = ['no', 'one', 'two', 'three', 'four', 'five', 'six'];

const andList = (items: readonly string[]): string =>
  items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;

function known(tools: readonly string[]): (keyof typeof TOOLS)[] {
  return tools.filter((t): t is keyof typeof TOOLS => t in TOOLS);
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

export function shorten(s: string, max: number): string {
  const chars = Array.from(oneLine(s));
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max - 1).join('')}…`;
}

function zoneOf(plan: Extract<PlannedCall, { tool: 'current_time' }>): string {
  return plan.arguments.timezone ?? 'UTC';
}

export function thinkingSteps(question: string, plan: PlannedCall[], tools: readonly string[] = ALL_TOOLS): string[] {
  if (oneLine(question) === '') {
    return ['There is no user message to answer, so I will say so and explain what I can do.'];
  }
  const steps = [`Reading the latest message: “${shorten(question, 80)}”.`];
  for (const call of plan) {
    switch (call.tool) {
      case 'calculator':
        steps.push(`The user asks for a calculation; I will use the calculator tool on ${call.arguments.expression}.`);
        break;
      case 'current_time':
        steps.push(call.unknownPlace
          ? `The user asks for the time in ${shorten(call.unknownPlace, 40)}, which I cannot map to a time zone; I will use the current_time tool for UTC.`
          : `The user asks for the current time in ${zoneOf(call)}; I will use the current_time tool.`);
        break;
      case 'search_conversation':
        steps.push(`The user asks about the earlier conversation; I will search it for “${call.arguments.query}” with the search_conversation tool.`);
        break;
      case 'search_documents':
        steps.push(`The user asks about their documents; I will search them for “${call.arguments.query}” with the search_documents tool.`);
        break;
    }
  }
  if (plan.length === 0) {
    steps.push(`None of my tools (${andList(known(tools))}) fits this request, so I will restate it and explain what I can do.`);
  }
  return steps;
}

interface CalcResult { text: string }
interface TimeResult { timezone: string; iso: string; human: string }
interface SearchResult { query: string; hits: SearchHit[] }
interface DocumentsResult { query: string; hits: { title: string; snippet: string }[] }

// The search port covers every message before the answer, so the newest hit is usually the
// question itself ("what did I say about pizza" matches "pizza"); quoting it back is noise.
export function withoutQuestion(hits: SearchHit[], question: string): SearchHit[] {
  if (hits.length === 0) return hits;
  const newest = hits.reduce((a, b) => (b.seq > a.seq ? b : a));
  const q = oneLine(Array.from(question).slice(0, 200).join(''));
  if (newest.role === 'user' && oneLine(newest.snippet) === q) return hits.filter((h) => h !== newest);
  return hits;
}

function describeCall(call: ExecutedCall, question: string): string {
  const { plan, outcome } = call;
  const failed = outcome.status !== 'succeeded';
  const error = outcome.error ?? 'unknown error';
  switch (plan.tool) {
    case 'calculator': {
      if (failed) return `I could not calculate ${plan.label}: ${error}.`;
      return `${plan.label} = ${(outcome.result as CalcResult).text}`;
    }
    case 'current_time': {
      if (failed) return `I could not get the current time: ${error}.`;
      const r = outcome.result as TimeResult;
      const where = r.timezone === 'UTC' ? '(UTC)' : `in ${r.timezone}`;
      const caveat = plan.unknownPlace ? `I don't know the time zone of ${shorten(plan.unknownPlace, 40)}, so here is UTC. ` : '';
      return `${caveat}The current time ${where} is ${r.human} (${r.iso}).`;
    }
    case 'search_conversation': {
      const query = plan.arguments.query;
      if (failed) return `I could not search the conversation for “${query}”: ${error}.`;
      const hits = withoutQuestion((outcome.result as SearchResult).hits, question);
      if (hits.length === 0) return `I found no earlier messages mentioning “${query}” in this conversation.`;
      const lines = hits.map((h) => `- #${h.seq} (${h.role}): ${shorten(h.snippet, 160)}`);
      const n = hits.length === 1 ? 'one earlier message' : `${hits.length} earlier messages`;
      return `I found ${n} mentioning “${query}”:\n${lines.join('\n')}`;
    }
    case 'search_documents': {
      const query = plan.arguments.query;
      if (failed) return `I could not search your documents for “${query}”: ${error}.`;
      const hits = (outcome.result as DocumentsResult).hits;
      if (hits.length === 0) return `None of your documents matches “${query}”.`;
      // Titles are cited so the user can open the source; the passage is what matched.
      const lines = hits.map((h) => `- “${shorten(h.title, 80)}”: ${shorten(h.snippet, 240)}`);
      const sources = hits.map((h) => `“${shorten(h.title, 80)}”`).join(', ');
      return `From your documents (${sources}), about “${query}”:\n${lines.join('\n')}`;
    }
  }
}

function withoutTools(question: string, tools: readonly string[]): string {
  const text = oneLine(question);
  const mine = known(tools);
  const capabilities = `I'm the built-in offline agent, so I can't look things up or chat freely, but I have ${NUMBERS[mine.length] ?? mine.length} tool${mine.length === 1 ? '' : 's'}: `
    + `${andList(mine.map((t) => TOOLS[t]))}.`;
  if (text === '') return `I didn't receive a message to answer. ${capabilities}`;
  let opener = '';
  if (/^(?:hi|hello|hey|howdy|good\s+(?:morning|afternoon|evening))\b/i.test(text)) opener = 'Hello! ';
  else if (/\b(?:thanks|thank\s+you)\b/i.test(text)) opener = "You're welcome! ";
  return `${opener}You asked: “${shorten(text, 200)}”. ${capabilities}`;
}

export function composeAnswer(question: string, calls: ExecutedCall[], droppedCalls = 0, tools: readonly string[] = ALL_TOOLS): string {
  if (calls.length === 0) return withoutTools(question, tools);
  const parts = calls.map((c) => describeCall(c, question));
  if (droppedCalls > 0) parts.push(`(I answered the first ${calls.length} requests; ask again for the rest.)`);
  return parts.join('\n\n');
}

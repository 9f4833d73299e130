// The tool set and the one place tools are invoked: arguments are validated against the tool's
// zod schema first, and every failure (bad arguments, an expected ToolError, an unexpected throw)
// becomes a failed outcome, so a tool can never take the agent down with it.
import { z } from 'zod';
import type { AgentContext } from '../../core/agent.js';
import { calculatorTool } from './calculator.js';
import { currentTimeTool } from './clock.js';
import { searchConversationTool } from './search.js';
import { ToolError, type ToolDefinition } from './tool.js';

export const builtinTools = [calculatorTool, currentTimeTool, searchConversationTool] as const;
export type BuiltinToolName = (typeof builtinTools)[number]['name'];

export interface ToolOutcome {
  // denied: a person (or the tool policy, or the approval timeout) said no; it never ran
  status: 'succeeded' | 'failed' | 'denied';
  result?: unknown;
  error?: string;
  duration_ms: number;
}

// The shape an LLM provider advertises: OpenAI wraps it as { type: 'function', function: spec }.
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

const MAX_UNEXPECTED_MESSAGE = 200;

export function toolSpecs(tools: readonly ToolDefinition[] = builtinTools): ToolSpec[] {
  return tools.map((t) => {
    // 'input' describes what a caller may send: fields with defaults are optional.
    const { $schema: _dialect, ...parameters } = z.toJSONSchema(t.schema, { io: 'input' }) as Record<string, unknown>;
    return { name: t.name, description: t.description, parameters };
  });
}

export function findTool(name: string, tools: readonly ToolDefinition[] = builtinTools): ToolDefinition | undefined {
  return tools.find((t) => t.name === name);
}

export function formatZodError(err: z.ZodError): string {
  return err.issues
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}

const elapsed = (t0: number): number => Math.round((performance.now() - t0) * 1000) / 1000;

export async function runTool(name: string, args: unknown, ctx: AgentContext, tools: readonly ToolDefinition[] = builtinTools): Promise<ToolOutcome> {
  const t0 = performance.now();
  const tool = findTool(name, tools);
  if (!tool) return { status: 'failed', error: `unknown tool '${name}'`, duration_ms: elapsed(t0) };
  const parsed = tool.schema.safeParse(args);
  if (!parsed.success) {
    return { status: 'failed', error: `invalid arguments for ${name}: ${formatZodError(parsed.error)}`, duration_ms: elapsed(t0) };
  }
  try {
    const result = await tool.execute(parsed.data, ctx);
    return { status: 'succeeded', result, duration_ms: elapsed(t0) };
  } catch (err) {
    return { status: 'failed', error: describeFailure(name, err), duration_ms: elapsed(t0) };
  }
}

// Tool errors are stored and shown to the user: expected ones are written for them; anything
// else is labelled as unexpected and kept short so a driver's diagnostics don't flood the chat.
function describeFailure(name: string, err: unknown): string {
  if (err instanceof ToolError) return err.message;
  const message = err instanceof Error ? err.message : String(err);
  const short = message.length > MAX_UNEXPECTED_MESSAGE ? `${message.slice(0, MAX_UNEXPECTED_MESSAGE)}…` : message;
  return `${name} failed unexpectedly: ${short}`;
}

// runTool behind the run's approval gate (tool policy `ask`/`never`): waits for the
// decision and runs the tool only if it was approved.
export async function runApprovedTool(id: string, name: string, args: Record<string, unknown>, ctx: AgentContext, tools: readonly ToolDefinition[] = builtinTools): Promise<ToolOutcome> {
  if (ctx.approveTool !== undefined) {
    const d = await ctx.approveTool({ id, name, arguments: args });
    if (!d.approved) return { status: 'denied', error: d.message, duration_ms: 0 };
  }
  return runTool(name, args, ctx, tools);
}

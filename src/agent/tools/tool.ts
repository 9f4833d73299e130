// What a tool is: data (name, description, zod argument schema) plus an execute function.
// Keeping tools as data lets the same definitions drive the built-in agent, the JSON schemas an
// LLM provider advertises, and argument validation in one place (registry.ts).
import type { z } from 'zod';
import type { AgentContext } from '../../core/agent.js';

export interface ToolDefinition<N extends string = string, S extends z.ZodType = z.ZodType> {
  readonly name: N;
  readonly description: string;
  readonly schema: S;
  // Method syntax on purpose: it keeps a list of differently-typed tools assignable to
  // ToolDefinition[] (parameters of methods are checked bivariantly).
  execute(args: z.output<S>, ctx: AgentContext): Promise<unknown>;
}

// An expected failure whose message is written for the end user (it is shown in the chat).
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}

export function defineTool<N extends string, S extends z.ZodType>(def: ToolDefinition<N, S>): ToolDefinition<N, S> {
  return def;
}

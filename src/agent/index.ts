// Agent factory: the composition root picks an agent by name (AGENT); providers that need the
// network (issue 7: 'openai') are added here without callers changing.
import { BuiltinAgent, type BuiltinAgentOptions } from './builtin.js';
import type { Agent } from './types.js';

export type AgentName = 'builtin';
export type AgentOptions = BuiltinAgentOptions;

export function createAgent(name: AgentName, opts: AgentOptions = {}): Agent {
  switch (name) {
    case 'builtin':
      return new BuiltinAgent(opts);
    default:
      throw new Error(`unknown agent '${String(name satisfies never)}'`);
  }
}

export { BuiltinAgent } from './builtin.js';
export type { BuiltinAgentOptions } from './builtin.js';
export { builtinTools, runTool, toolSpecs, type ToolOutcome, type ToolSpec } from './tools/registry.js';
export type { Agent, AgentContext, AgentEvent, ChatTurn, SearchHit } from './types.js';

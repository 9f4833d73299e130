// Agent factory: the composition root picks an agent by name (AGENT / LLM_PROVIDER): 'builtin'
// (offline, deterministic) or 'openai' (any OpenAI-compatible chat-completions server).
import { BuiltinAgent, type BuiltinAgentOptions } from './builtin.js';
import { OpenAiAgent, type OpenAiAgentOptions } from './openai/agent.js';
import type { Agent } from '../core/agent.js';

export type AgentName = 'builtin' | 'openai';
export type AgentOptions = BuiltinAgentOptions;

export function createAgent(name: 'builtin', opts?: BuiltinAgentOptions): Agent;
export function createAgent(name: 'openai', opts: OpenAiAgentOptions): Agent;
export function createAgent(name: AgentName, opts: BuiltinAgentOptions | OpenAiAgentOptions = {}): Agent {
  switch (name) {
    case 'builtin':
      return new BuiltinAgent(opts as BuiltinAgentOptions);
    case 'openai':
      return new OpenAiAgent(opts as OpenAiAgentOptions);
    default:
      throw new Error(`unknown agent '${String(name satisfies never)}'`);
  }
}

export { BuiltinAgent } from './builtin.js';
export type { BuiltinAgentOptions } from './builtin.js';
export { OpenAiAgent, type OpenAiAgentOptions } from './openai/agent.js';
export { builtinTools, runTool, toolSpecs, type ToolOutcome, type ToolSpec } from './tools/registry.js';

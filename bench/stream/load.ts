// Drives the Go load client (`loadgen load`, bench/loadgen/load.go): M conversations, one
// receiving socket each, one message each, every token's latency from its emit time to its
// arrival. The client reads its plan on stdin and prints its result as one JSON line.
import { spawn } from 'node:child_process';

export interface Endpoints {
  // where the receiving socket of a conversation connects
  receive(conv: string): string;
  // where the message is sent from, when not from the receiving socket (another replica)
  send?(conv: string): string;
}

export interface StreamResult {
  delivered: number;
  expected: number;
  completed: number;
  failed: number;
  closed: number;
  // token latency in ms, from the client's 0.1 ms histogram
  p50: number;
  p99: number;
  p999: number;
  max: number;
  // p99 of the tokens emitted from a second after the last message was sent: the streams'
  // steady state, without the storm of runs starting
  steadyP99: number | null;
}

export async function streamLoad(loadgen: string, o: {
  epochMs: number; convs: string[]; token: string; ends: Endpoints; tokens: number; question: string; spreadMs: number; timeoutMs: number;
}): Promise<StreamResult> {
  const plan = {
    epochMs: o.epochMs, token: o.token, question: o.question, tokens: o.tokens, spreadMs: o.spreadMs, timeoutMs: o.timeoutMs,
    convs: o.convs.map((c) => ({ recv: o.ends.receive(c), send: o.ends.send?.(c) ?? '' })),
  };
  const child = spawn(loadgen, ['load'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stdin.end(JSON.stringify(plan));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`loadgen load exited ${code}`);
  return JSON.parse(out) as StreamResult;
}

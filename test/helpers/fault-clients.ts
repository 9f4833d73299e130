// Clients of a fault test: sockets whose every frame feeds the client library's own
// Transcript (as src/client/client.ts does), so "what the client was told" is what an
// app built on our SDK would show, and a final resume asks only for what it lacks.
import { Transcript } from '../../src/client/transcript.js';
import type { ServerFrame } from '../../src/protocol/frames.js';
import { connectReady, type Frame } from './ws-client.js';

export function feed(t: Transcript, frames: Frame[]): void {
  for (const raw of frames) {
    const f = raw as ServerFrame;
    switch (f.type) {
      case 'message': t.stored(f.message); break;
      case 'ack': t.ack(f); break;
      case 'run.started': t.runStarted(f); break;
      case 'run.snapshot': t.snapshot(f); break;
      case 'response.delta': t.delta(f); break;
      case 'response.completed': t.completed(f); break;
      case 'run.failed': t.failed(f); break;
      default: break;
    }
  }
}

export interface Told {
  seq: number;
  role: string;
  status: string;
  content: string;
}

// The client's view after it reconnects and resumes from where its transcript is final.
export async function resumeAndRead(httpUrl: string, conv: string, token: string, frames: Frame[]): Promise<Told[]> {
  const t = new Transcript(() => undefined);
  feed(t, frames);
  const from = t.resumeSeq();
  // Right after the database comes back a join may still be refused as resumable (1001,
  // the server's pool reconnecting); a real client retries, and so does this one.
  let joined: Awaited<ReturnType<typeof connectReady>> | undefined;
  for (let attempt = 1; joined === undefined; attempt++) {
    try {
      joined = await connectReady(httpUrl, conv, token, { last_seq: from });
    } catch (err) {
      if (attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const { sock, ready } = joined;
  // The replay runs up to the conversation's last_seq as of ready.
  if (ready.last_seq > from) await sock.waitFor((f) => f.type === 'message' && f.message.seq === ready.last_seq, 10_000);
  feed(t, sock.frames);
  sock.close();
  return t.list().map((m) => ({ seq: m.seq!, role: m.role, status: m.status, content: m.content }));
}

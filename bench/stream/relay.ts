// The baseline of the streaming bench: a minimal relay on Node's `ws`, what a team would
// write by hand. First-message JWT auth (jose, HS256), then each `message` frame makes one
// streamed call to the model server and relays every token as its own frame. Nothing is
// stored, nothing crosses processes. Prints {"port":N} on stdout when listening.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { WebSocketServer, type WebSocket } from 'ws';

const SECRET = new TextEncoder().encode(process.env.JWT_SECRET ?? '');
const MODEL = new URL(process.env.LLM_BASE_URL ?? 'http://127.0.0.1:1/v1');

function relay(ws: WebSocket, runId: string, question: string): void {
  const req = http.request(new URL(`${MODEL.pathname.replace(/\/$/, '')}/chat/completions`, MODEL), {
    method: 'POST', agent: false, headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
  });
  let buf = '';
  let content = '';
  req.on('response', (res) => {
    res.setEncoding('utf8');
    res.on('data', (piece: string) => {
      buf += piece;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
        const c = (JSON.parse(ev.slice(6)) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content;
        if (!c) continue;
        ws.send(JSON.stringify({ type: 'response.delta', run_id: runId, offset: content.length, delta: c }));
        content += c;
      }
    });
    res.on('end', () => ws.send(JSON.stringify({ type: 'response.completed', run_id: runId, content })));
  });
  req.on('error', () => ws.close(1011));
  req.end(JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content: question }] }));
}

const server = http.createServer();
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  let user: string | undefined;
  let runs = 0;
  ws.on('message', (data) => {
    const f = JSON.parse(data.toString()) as { type: string; token?: string; client_msg_id?: string; content?: string };
    if (user === undefined) {
      if (f.type !== 'auth' || !f.token) return ws.close(4401);
      jwtVerify(f.token, SECRET, { algorithms: ['HS256'] }).then((v) => {
        user = v.payload.sub;
        ws.send(JSON.stringify({ type: 'ready' }));
      }, () => ws.close(4401));
      return;
    }
    if (f.type === 'message') {
      ws.send(JSON.stringify({ type: 'ack', client_msg_id: f.client_msg_id }));
      relay(ws, `r${++runs}`, f.content ?? '');
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));

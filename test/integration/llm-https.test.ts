// The model server over HTTPS: the stream's own HTTP/1.1 client speaks TLS to it, checks
// its certificate against the trusted CAs, and reads a chunked body through TLS records.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCall } from '../../src/agent/openai/chat-call.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const chunk = (text: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`;
let ca: TestCa;
let server: https.Server;
let base: string;
beforeAll(async () => {
  ca = createTestCa('llm-ca');
  const leaf = ca.issue('llm-server', 'server');
  server = https.createServer({ cert: readFileSync(leaf.cert), key: readFileSync(leaf.key) }, (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let i = 0;
    const t = setInterval(() => {
      if (i < 5) return void res.write(chunk(`t${i++} `));
      clearInterval(t);
      res.end('data: [DONE]\n\n');
    }, 5);
    res.on('close', () => clearInterval(t));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://localhost:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => {
  server?.closeAllConnections();
  server?.close();
  ca?.remove();
});

const opts = (baseUrl: string) => ({
  baseUrl, apiKey: 'sk-test', maxRetries: 0, retryBaseMs: 1,
  timeouts: { connectMs: 5000, firstTokenMs: 5000, idleMs: 5000 },
});

describe('a model server over HTTPS', () => {
  it('streams the answer when its certificate is trusted (NODE_EXTRA_CA_CERTS)', async () => {
    // Node reads extra CAs only at start: the call runs in a child that trusts the test CA.
    const script = `import { chatCall } from ${JSON.stringify(path.join(ROOT, 'src/agent/openai/chat-call.ts'))};
      let text = '';
      for await (const ev of chatCall({ model: 'm' }, ${JSON.stringify(opts(base))}, new AbortController().signal)) if (ev.type === 'text') text += ev.text;
      console.log(JSON.stringify(text));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT, env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.cert }, timeout: 30_000,
    });
    expect(JSON.parse(stdout.trim())).toBe('t0 t1 t2 t3 t4 ');
  });

  it('refuses a server whose certificate it cannot verify, and says why', async () => {
    const run = async () => { for await (const ev of chatCall({}, opts(base), new AbortController().signal)) void ev; };
    await expect(run()).rejects.toMatchObject({ code: 'llm_unreachable', message: 'cannot reach the model server (UNABLE_TO_VERIFY_LEAF_SIGNATURE)' });
  });
});

// The client SDK as an app gets it: `npm pack` of packages/client, installed into an empty
// app (with `ws`, which Node 20 needs), running the package README's snippet against a
// real server. The install holds only the client and ws.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useServer } from '../helpers/use-server.js';
import { token } from '../helpers/tokens.js';
import { createConversation } from '../helpers/ws-client.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const { s } = useServer('client-package', { AGENT_TOKEN_DELAY_MS: '1' }, 'clientpkg');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'client-pkg-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// The first ```js block of the package README, verbatim.
async function readmeSnippet(): Promise<string> {
  const readme = await readFile(path.join(ROOT, 'packages/client/README.md'), 'utf8');
  const m = /```js\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('packages/client/README.md has no ```js block');
  return m[1]!;
}

describe('chat-backend-client package', () => {
  it('installs from its packed tarball into an empty app and runs the README snippet against a server', async () => {
    const packed = await run(NPM, ['pack', '--workspace', 'chat-backend-client', '--pack-destination', dir, '--json'], { cwd: ROOT, maxBuffer: 16 << 20 });
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    const files = info!.files.map((f) => f.path);
    expect(files).toContain('dist/client/index.js');
    expect(files).toContain('dist/client/index.d.ts');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]); // no sources, no tests

    const app = path.join(dir, 'app');
    await mkdir(app);
    await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // ws comes from npm's cache, filled by the repository's own `npm ci`.
    await run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(dir, info!.filename), 'ws@^8'], { cwd: app, maxBuffer: 16 << 20 });
    const installed = (await readdir(path.join(app, 'node_modules'))).filter((n) => !n.startsWith('.'));
    expect(installed.sort()).toEqual(['chat-backend-client', 'ws']);

    const tok = await token('reader');
    const conv = await createConversation(s.url, tok);
    const main = [
      'const serverUrl = process.env.SERVER_URL;',
      'const token = process.env.TOKEN;',
      'const conversationId = process.env.CONVERSATION_ID;',
      await readmeSnippet(),
      // Wait for the answer the snippet's message started, then leave.
      "const answered = () => chat.messages.some((m) => m.role === 'assistant' && m.status === 'complete');",
      "if (!answered()) await new Promise((resolve) => chat.on('completed', resolve));",
      "console.log('\\nANSWER ' + JSON.stringify(chat.messages.find((m) => m.role === 'assistant')?.content));",
      'chat.close();',
    ].join('\n');
    await writeFile(path.join(app, 'main.mjs'), main);
    const out = await run(process.execPath, ['main.mjs'], { cwd: app, env: { ...process.env, SERVER_URL: s.url, TOKEN: tok, CONVERSATION_ID: conv }, timeout: 60_000 });
    expect(out.stdout).toContain('stored as message 1');
    expect(out.stdout).toContain('assistant: 12*(3+4) = 84');
    expect(out.stdout).toMatch(/ANSWER ".*84/);
    // The server holds the conversation the snippet had.
    const msgs = await fetch(`${s.url}/api/v1/conversations/${conv}/messages`, { headers: { authorization: `Bearer ${tok}` } });
    const body = (await msgs.json()) as { items: { role: string; content: string }[] };
    expect(body.items.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(body.items[0]!.content).toBe('What is 12*(3+4)?');
  }, 180_000);
});

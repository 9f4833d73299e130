// Behind PgBouncer: session pooling works (the runner lock and LISTEN keep their
// session); transaction pooling is refused at start with a message naming it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/db/embedded.js';
import { faultPostgresAvailable, pgOwner, startFaultPostgres, type FaultPostgres } from '../helpers/fault-pg.js';
import { runCli, startServer } from '../helpers/server.js';
import { skipOrFail } from '../helpers/skip.js';
import { AUTH_ENV, token } from '../helpers/tokens.js';
import { connectReady, createConversation } from '../helpers/ws-client.js';
import { randomUUID } from 'node:crypto';

const PGBOUNCER = '/usr/sbin/pgbouncer';
const skip = skipOrFail(
  faultPostgresAvailable() ?? (existsSync(PGBOUNCER) ? undefined : 'pgbouncer is not installed (apt-get install pgbouncer)'),
  (r) => `the PgBouncer suite cannot run under CI: ${r}`,
);

let pg: FaultPostgres;
let dir: string;
const bouncers: ChildProcess[] = [];

// One PgBouncer in the given pool mode in front of the suite's PostgreSQL.
async function startPgBouncer(mode: 'session' | 'transaction'): Promise<number> {
  const port = await freePort();
  const ini = path.join(dir, `${mode}.ini`);
  const users = path.join(dir, 'users.txt');
  await writeFile(users, '"postgres" "fault"\n');
  await writeFile(ini, [
    '[databases]', `chat_backend = host=127.0.0.1 port=${pg.port} dbname=chat_backend`,
    '[pgbouncer]', 'listen_addr = 127.0.0.1', `listen_port = ${port}`, 'unix_socket_dir =',
    'auth_type = plain', `auth_file = ${users}`, `pool_mode = ${mode}`, 'default_pool_size = 20', 'max_client_conn = 200',
    'ignore_startup_parameters = extra_float_digits,options', `logfile = ${path.join(dir, `${mode}.log`)}`, '',
  ].join('\n'));
  const owner = pgOwner(); // PgBouncer refuses to run as root
  if (owner) for (const f of [dir, ini, users]) await chown(f, owner.uid, owner.gid);
  const child = spawn(PGBOUNCER, [ini], { stdio: ['ignore', 'pipe', 'pipe'], ...(owner ?? {}) });
  bouncers.push(child);
  let out = '';
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  await expect.poll(() => out, { timeout: 10_000 }).toMatch(/process up|listening on 127\.0\.0\.1/);
  return port;
}

describe.skipIf(skip !== undefined)('connection poolers (PgBouncer)', () => {
  beforeAll(async () => {
    pg = await startFaultPostgres();
    dir = await mkdtemp(path.join(os.tmpdir(), 'chat-backend-pgbouncer-'));
    const migrated = await runCli(['migrate'], { DATABASE_URL: pg.url });
    expect(migrated.code, migrated.stderr).toBe(0);
  });

  afterAll(async () => {
    for (const b of bouncers) b.kill('SIGTERM');
    await pg?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('session pooling: serves, and answers stream', async () => {
    const port = await startPgBouncer('session');
    const s = await startServer({ ...AUTH_ENV, DATABASE_URL: `postgres://postgres:fault@127.0.0.1:${port}/chat_backend`, MIGRATE_ON_START: 'false' }, 'pgbouncer-session');
    try {
      expect((await fetch(`${s.url}/health/full`)).status).toBe(200);
      const alice = await token('alice');
      const conv = await createConversation(s.url, alice);
      const { sock } = await connectReady(s.url, conv, alice);
      sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'What is 6*7?' });
      expect((await sock.type('response.completed', 0, 20_000)).content).toContain('42');
      sock.close();
    } finally {
      expect((await s.stop()).code).toBe(0);
    }
  }, 90_000);

  it('transaction pooling: serve refuses at start, naming it', async () => {
    const port = await startPgBouncer('transaction');
    const r = await runCli(['serve'], { ...AUTH_ENV, DATABASE_URL: `postgres://postgres:fault@127.0.0.1:${port}/chat_backend`, PORT: '0', METRICS_PORT: '0' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/connection pooler in transaction or statement pooling mode \(PgBouncer pool_mode=transaction\/statement\).*use pool_mode=session/);
  }, 60_000);
});

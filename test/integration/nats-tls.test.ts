// The NATS bus over TLS against a real nats-server: certificates from a throwaway CA
// (openssl), a server that requires TLS, and one that also requires client certificates.
// Two replicas on each see each other's answers; a server certificate the replicas cannot
// trust (wrong NATS_TLS_CA, or none) and a missing client certificate fail start naming
// the variable, before anything is started.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { createMigratedDatabase, type TestDatabase } from '../helpers/db.js';
import { natsServerBinary, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { runCli, startServer, type ServerProcess } from '../helpers/server.js';
import { createTestCa, type Pem, type TestCa } from '../helpers/test-ca.js';
import { AUTH_ENV, token } from '../helpers/tokens.js';
import { assembleAnswer, connectReady, createConversation } from '../helpers/ws-client.js';

const { bin, skip } = natsServerBinary();

describe.skipIf(skip !== undefined)(`the NATS bus over TLS${skip ? ` (skipped: ${skip})` : ''}`, { timeout: 90_000 }, () => {
  let tdb: TestDatabase & { db: Db };
  let ca: TestCa;
  let otherCa: TestCa;
  let client: Pem;
  let tls: NatsServer; // TLS required, any client
  let mtls: NatsServer; // TLS required, with a client certificate signed by ca
  const servers: ServerProcess[] = [];
  let alice: string;

  beforeAll(async () => {
    ca = createTestCa('ca');
    otherCa = createTestCa('other-ca', ca.dir);
    const server = ca.issue('nats-server', 'server');
    client = ca.issue('replica', 'client');
    const serverTls = ['--tlscert', server.cert, '--tlskey', server.key];
    [tdb, tls, mtls] = await Promise.all([
      createMigratedDatabase('nats_tls'),
      startNatsServer(bin!, ['--tls', ...serverTls]),
      startNatsServer(bin!, ['--tlsverify', ...serverTls, '--tlscacert', ca.cert]),
    ]);
    alice = await token('alice');
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all([tls?.stop(), mtls?.stop()]);
    await tdb?.drop();
    ca?.remove();
  });

  const replicas = async (env: Record<string, string>, name: string) => {
    const base = { ...AUTH_ENV, DATABASE_URL: tdb.url, AGENT_TOKEN_DELAY_MS: '5', BUS: 'nats', ...env };
    const pair = await Promise.all([startServer(base, `${name}-a`), startServer(base, `${name}-b`)]);
    servers.push(...pair);
    return pair;
  };

  const answerCrosses = async (a: ServerProcess, b: ServerProcess) => {
    const conv = await createConversation(a.url, alice);
    const onA = await connectReady(a.url, conv, alice);
    const onB = await connectReady(b.url, conv, alice);
    await onA.sock.waitFor((f) => f.type === 'presence' && f.sessions.length === 2);
    onB.sock.send({ type: 'message', client_msg_id: randomUUID(), content: 'What is 2^10?' });
    const done = await onA.sock.type('response.completed', 0, 20_000);
    expect(done.content).toContain('1024');
    expect(onA.sock.ofType('response.delta').length).toBeGreaterThan(0);
    expect(assembleAnswer(onA.sock.frames, done.run_id)).toBe(done.content);
    onA.sock.close();
    onB.sock.close();
  };

  it('two replicas trusting the CA (NATS_TLS_CA) see each other\'s answers through a TLS-only nats-server', async () => {
    const [a, b] = await replicas({ NATS_URL: tls.url, NATS_TLS_CA: ca.cert }, 'nats-tls');
    for (const s of [a, b]) expect(s.lines.some((l) => l.includes('NATS bus connected'))).toBe(true);
    await answerCrosses(a, b);
  });

  it('two replicas with a client certificate (NATS_TLS_CERT, NATS_TLS_KEY) see each other\'s answers through a nats-server that requires one', async () => {
    const [a, b] = await replicas({ NATS_URL: mtls.url, NATS_TLS_CA: ca.cert, NATS_TLS_CERT: client.cert, NATS_TLS_KEY: client.key }, 'nats-mtls');
    await answerCrosses(a, b);
  });

  describe('TLS that must fail at start, naming the variable, before the database or a port is touched', () => {
    // An unreachable database: a start that got past the bus would fail there instead.
    const noDb = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' };
    const refused = async (env: Record<string, string>) => {
      const r = await runCli(['serve'], { ...AUTH_ENV, BUS: 'nats', NATS_CONNECT_TIMEOUT_MS: '3000', ...noDb, ...env });
      expect(r.code).toBe(1);
      expect(r.stdout).not.toContain('"msg":"listening"');
      expect(r.stderr).not.toMatch(/database|postgres/i);
      return r.stderr;
    };

    it('a NATS_TLS_CA that did not sign the server certificate', async () => {
      const err = await refused({ NATS_URL: tls.url, NATS_TLS_CA: otherCa.cert });
      expect(err).toContain(`chat-backend: NATS_TLS_CA=${otherCa.cert}: the TLS certificate of NATS at ${tls.url} is not signed by this CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE`);
    });

    it('no NATS_TLS_CA for a server whose certificate no system CA signed', async () => {
      const err = await refused({ NATS_URL: tls.url.replace('nats://', 'tls://') });
      expect(err).toContain(`chat-backend: NATS_TLS_CA=unset: the TLS certificate of NATS at tls://127.0.0.1:${tls.port} is not signed by a system CA; set NATS_TLS_CA`);
    });

    it('a NATS_TLS_CA that is not a PEM file', async () => {
      const err = await refused({ NATS_URL: tls.url, NATS_TLS_CA: client.key.replace(/\.key$/, '.ext') });
      expect(err).toMatch(/chat-backend: NATS_TLS_CA=.*replica\.ext: not a PEM file/);
    });

    it('no client certificate for a server that requires one', async () => {
      const err = await refused({ NATS_URL: mtls.url, NATS_TLS_CA: ca.cert });
      expect(err).toContain(`chat-backend: NATS_URL=${mtls.url}: cannot connect to NATS (timeout); if NATS requires client certificates, set NATS_TLS_CERT and NATS_TLS_KEY`);
    });

    it('a client certificate from another CA', async () => {
      const stranger = otherCa.issue('stranger', 'client');
      const err = await refused({ NATS_URL: mtls.url, NATS_TLS_CA: ca.cert, NATS_TLS_CERT: stranger.cert, NATS_TLS_KEY: stranger.key });
      expect(err).toContain(`chat-backend: NATS_URL=${mtls.url}: cannot connect to NATS (`);
    });
  });
});

// The fault proxy must be transparent whenever it forwards: a resume() that piped an
// already-forwarding connection a second time duplicated every byte in both directions, so
// a PostgreSQL client behind it saw its Parse run twice ("prepared statement … already
// exists", 42P05) and every reply twice.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

let proxy: TcpProxy | undefined;
let server: net.Server | undefined;
const clients: net.Socket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await proxy?.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  proxy = server = undefined;
});

// An echo server; `accepted` once a connection reached it.
async function echoServer(): Promise<{ port: number; accepted: Promise<void> }> {
  let accept: () => void = () => undefined;
  const accepted = new Promise<void>((r) => { accept = r; });
  server = net.createServer((sock) => {
    accept();
    sock.pipe(sock);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, accepted };
}

async function connect(port: number) {
  const sock = net.connect(port, '127.0.0.1');
  clients.push(sock);
  let got = '';
  const waiters: (() => void)[] = [];
  sock.on('data', (b: Buffer) => {
    got += b.toString();
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
  const until = (done: (s: string) => boolean): Promise<void> => done(got)
    ? Promise.resolve()
    : new Promise((r) => waiters.push(() => void until(done).then(r)));
  return {
    sock,
    // Everything echoed back, read up to a marker sent once "ping" came back: a stream keeps
    // its order, so any duplicate of "ping" arrives before the marker.
    async echoed(): Promise<string> {
      await until((s) => s.length >= 'ping'.length);
      sock.write('!');
      await until((s) => s.includes('!'));
      return got;
    },
  };
}

describe('tcp proxy', () => {
  it('carries each byte once after a resume() of a connection that was already forwarding', async () => {
    const upstream = await echoServer();
    proxy = await startTcpProxy('127.0.0.1', upstream.port);
    const client = await connect(proxy.port);
    proxy.resume();
    proxy.resume();
    client.sock.write('ping');
    expect(await client.echoed()).toBe('ping!');
  });

  it('carries what a stall held once, however often it is resumed', async () => {
    const upstream = await echoServer();
    proxy = await startTcpProxy('127.0.0.1', upstream.port);
    const client = await connect(proxy.port);
    proxy.stall();
    client.sock.write('pi');
    proxy.resume();
    proxy.stall();
    client.sock.write('ng');
    proxy.resume();
    proxy.resume();
    expect(await client.echoed()).toBe('ping!');
  });

  it('links a connection accepted during a stall once it resumes', async () => {
    const upstream = await echoServer();
    proxy = await startTcpProxy('127.0.0.1', upstream.port);
    proxy.stall();
    const client = await connect(proxy.port);
    await upstream.accepted; // the proxy has taken the connection while stalled
    client.sock.write('ping');
    proxy.resume();
    proxy.resume();
    expect(await client.echoed()).toBe('ping!');
  });
});

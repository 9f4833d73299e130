// A loopback TCP proxy a test can freeze or cut, to make "the database stops
// answering" (or "the API server dropped every watch") real without stopping the server.
// TLS passes through untouched, so a client still verifies the server's own certificate.
import net from 'node:net';

export interface TcpProxy {
  port: number;
  stall(): void; // hold every byte in both directions, accept new connections silently
  resume(): void;
  cut(): number; // reset every connection (returns how many) and refuse new ones until resume()
  retarget(port: number): void; // new connections go to this port (a restarted server)
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let mode: 'forward' | 'stall' | 'cut' = 'forward';
  type Pair = [net.Socket, net.Socket];
  const pairs = new Set<Pair>();
  // Piping a pair that already forwards would pipe it twice: every byte duplicated both
  // ways (a PostgreSQL client saw its Parse twice, 42P05 "prepared statement … already
  // exists", and each reply twice), so a pair is linked only while it is not.
  const linked = new WeakSet<Pair>();
  const link = (pair: Pair) => {
    if (linked.has(pair)) return;
    linked.add(pair);
    pair[0].pipe(pair[1]);
    pair[1].pipe(pair[0]);
  };
  const server = net.createServer((client) => {
    if (mode === 'cut') return client.destroy();
    const upstream = net.connect(targetPort, targetHost);
    const pair: Pair = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // A refused upstream (the server is down) is refused to the client too, with a reset, as
    // a transparent proxy or a Service address would; a quiet close would look like a
    // server that accepted and then hung up.
    const refused = () => {
      pairs.delete(pair);
      client.resetAndDestroy();
    };
    client.on('error', drop).on('close', drop);
    let reached = false;
    upstream.once('connect', () => { reached = true; });
    upstream.on('error', () => (reached ? drop() : refused())).on('close', drop);
    if (mode === 'forward') link(pair);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    stall() {
      mode = 'stall';
      for (const pair of pairs) {
        const [a, b] = pair;
        linked.delete(pair);
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    resume() {
      mode = 'forward';
      for (const pair of pairs) link(pair);
    },
    retarget(port: number) {
      targetPort = port;
    },
    cut() {
      mode = 'cut';
      const open = pairs.size;
      for (const [a, b] of pairs) {
        a.resetAndDestroy();
        b.destroy();
      }
      pairs.clear(); // so a resume() links only connections made after the cut
      return open;
    },
    close: () => new Promise((r) => {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      server.close(() => r());
    }),
  };
}

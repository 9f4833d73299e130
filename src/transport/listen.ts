// Binding a uWS app, with the real port when 0 was asked for.
import type { TemplatedApp, us_listen_socket } from './uws.js';
import { loadUws } from './uws.js';

export interface Listener {
  port: number;
  close(): void;
}

export function listen(app: TemplatedApp, host: string, port: number, what: string): Promise<Listener> {
  const uws = loadUws();
  return new Promise((resolve, reject) => {
    // uSockets shares ports (SO_REUSEPORT) unless told otherwise: a second server on the
    // same port would start "successfully" and silently take half the connections.
    // The native binding takes (host, port, options, cb); its typings omit that overload.
    const listenOn = app.listen.bind(app) as unknown as (h: string, p: number, o: number, cb: (s: us_listen_socket | false) => void) => void;
    listenOn(host, port, (uws as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT, (sock: us_listen_socket | false) => {
      if (sock === false) {
        reject(new Error(`cannot listen for ${what} on ${host}:${port} (port in use or address not available)`));
        return;
      }
      let open = true;
      resolve({
        port: uws.us_socket_local_port(sock as never),
        close: () => {
          if (open) uws.us_listen_socket_close(sock);
          open = false;
        },
      });
    });
  });
}

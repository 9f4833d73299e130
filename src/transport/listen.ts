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
    app.listen(host, port, (sock: us_listen_socket | false) => {
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

import type { Server } from 'node:net';

/**
 * Binds `server`; rejects with the bind error (EADDRINUSE, EACCES, ...) instead of emitting it. `exclusive`: never
 * share the port with other cluster processes (the client listeners are shared; a gateway's inner port is not).
 */
export function listenOn(server: Server, port: number, host: string, exclusive = false): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

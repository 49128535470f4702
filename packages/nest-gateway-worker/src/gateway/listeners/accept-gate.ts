import type { Server, Socket } from 'node:net';
import type { ListenerHooks } from './client-listener';

/**
 * Puts the gateway's accept-time check (`hooks.accepted`: the connection limits, the handshake deadline) in
 * front of an HTTP(S) server's own connection handling: the server's 'connection' listeners (HTTP parsing, for
 * https the TLS handshake) run only for the sockets the gateway admits, so one over a limit is destroyed before
 * a byte of it is read or a TLS session is set up for it. Call once, after creating the server and before
 * listening; listeners added to 'connection' later are not gated.
 */
export function gateConnections(server: Server, hooks: ListenerHooks): void {
  const handlers = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    if (!hooks.accepted(socket)) return;
    for (const handle of handlers) handle.call(server, socket);
  });
}

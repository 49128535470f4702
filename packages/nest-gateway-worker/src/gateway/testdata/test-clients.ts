import type { ClientHandshake } from '../../protocol/client-handshake';
import { ClientConnection } from '../client-connection';
import type { ClientSocket } from '../client-socket';

/** The handshake of the specs' clients: a WebSocket client from 127.0.0.1 on "/". */
export const TEST_HANDSHAKE: ClientHandshake = {
  listener: 'ws://127.0.0.1:0',
  protocol: 'ws',
  remoteAddress: '127.0.0.1',
  remotePort: 1,
  url: '/',
  query: {},
  headers: {},
};

/** A client socket that is open, sends nowhere, and records the closes asked of it (code, reason). */
export function recordingSocket(): ClientSocket & { closes: [number, string | undefined][] } {
  const closes: [number, string | undefined][] = [];
  return {
    isOpen: true,
    bufferedAmount: 0,
    send: () => undefined,
    close: (code, reason) => void closes.push([code, reason]),
    terminate: () => undefined,
    closes,
  };
}

/** A connection whose socket is never used (specs of indexes, routing and the unacked ring). */
export function bareClient(id: number): ClientConnection {
  return new ClientConnection(id, {} as ClientSocket, 0, TEST_HANDSHAKE);
}

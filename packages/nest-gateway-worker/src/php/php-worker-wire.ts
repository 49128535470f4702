import type { ClientConnection } from '../gateway/client-connection';
import type { WorkerChannel, WorkerWire } from '../gateway/delivery/worker-channel';
import type { GatewayAddress } from '../gateway/gateway-address';
import { Cmd, FrameFlag } from '../protocol/command';
import { encodeFrame, frame, type FrameHeader } from '../protocol/frame';
import { phpWebSocketConnectData } from './php-handshake';
import { phpSerialize } from './php-serialize';
import { phpSessionOf } from './php-session';

/** The listener protocols that make a PHP gateway send CMD_ON_WEBSOCKET_CONNECT (workerman's Websocket). */
const WEBSOCKET_PROTOCOLS = new Set(['ws', 'wss']);

/**
 * Client events for a PHP BusinessWorker, as PHP's gateway sends them (reference/php-gatewayworker-spec.md §2.4,
 * §2.6): the header as always, ext_data = the session as PHP stores it ('' or the serialize() string, byte for byte,
 * so the worker's crc32 session check stays quiet), the body with flag 1 (PHP has no binary flag: binary messages
 * arrive as bytes), and CMD 205 (onWebSocketConnect, the handshake array serialize()d, flag 0) right after a
 * WebSocket client's CMD_ON_CONNECT. No sequence numbers: a PHP worker acknowledges nothing.
 */
export const PHP_WORKER_WIRE: WorkerWire = {
  sendEvent(
    worker: WorkerChannel,
    client: ClientConnection,
    cmd: number,
    flag: number,
    body: Buffer,
    address: GatewayAddress,
  ): void {
    const header: FrameHeader = {
      cmd,
      localIp: address.lanIp,
      localPort: address.innerPort,
      clientIp: client.remoteIp,
      clientPort: client.remotePort,
      connectionId: client.id,
      flag: FrameFlag.BodyIsScalar,
      gatewayPort: address.clientPort,
    };
    void flag;
    const session = phpSessionOf(client);
    worker.link.send(encodeFrame({ ...header, ext: session, body }));
    if (cmd !== Cmd.OnConnect) return;
    const handshake = client.handshake;
    if (!WEBSOCKET_PROTOCOLS.has(handshake.protocol)) return;
    const data = phpWebSocketConnectData(handshake, listenerPort(handshake.listener, address.clientPort));
    worker.link.send(
      encodeFrame(frame({ ...header, cmd: Cmd.OnWebSocketConnect, flag: 0, ext: session, body: phpSerialize(data) })),
    );
  },
};

/** The port of a listener URL as configured ("ws://0.0.0.0:7272"), or `fallback` (port 0: bound to any). */
function listenerPort(listener: string, fallback: number): number {
  const m = /:(\d+)(?:\/|$)/.exec(listener);
  const port = m ? Number(m[1]) : 0;
  return port > 0 ? port : fallback;
}

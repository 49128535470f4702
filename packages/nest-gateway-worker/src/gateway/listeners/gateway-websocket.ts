import type { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import type { ClientConnection } from '../client-connection';
import type { ClientSocket } from '../client-socket';
import type { OutgoingMessage } from '../outgoing-message';
import { corkForTurn } from './turn-cork';

/** WebSocket close code for a message above the size limit. */
export const MESSAGE_TOO_BIG = 1009;

const BINARY = { binary: true } as const;
const TEXT = { binary: false } as const;

/**
 * The parts of ws 8's WebSocket that {@link GatewayWebSocket.sendMessage} writes through (private in ws). When
 * they do not look as expected (another ws version), sendMessage falls back to the public `send`.
 */
interface WsInternals {
  /** True once the peer's close frame arrived (ws then echoes it through close()). */
  _closeFrameReceived?: boolean;
  _socket: Writable | null;
  /** ws's Sender: `_state` 0 (DEFAULT) with an empty `_queue` = nothing of ws's own is waiting to be written. */
  _sender: { _state: number; _queue: unknown[] } | null;
}

/** What a {@link GatewayWebSocket} asks of the listener that accepted it. */
export interface GatewayWebSocketOwner {
  /** ws is closing `socket` because a message passed `maxPayload`: counts it, returns the close reason. */
  messageTooBig(socket: GatewayWebSocket): string;
  /** A complete message of an accepted connection. */
  socketMessage(client: ClientConnection, data: Buffer, binary: boolean): void;
  /** A ping or pong of an accepted connection (heartbeat activity). */
  socketActivity(client: ClientConnection): void;
  /** An accepted connection is closed (once), with the code ws reports (the peer's, 1005 none, 1006 no close frame). */
  socketClosed(client: ClientConnection, code: number): void;
  /** ws reports an error on the socket (it closes the socket itself; 'close' follows). */
  socketError(socket: GatewayWebSocket, err: Error): void;
}

/**
 * The `ws` WebSocket class the gateway's WebSocket servers create (`WebSocketServer({ WebSocket })`). It is
 * the connection's {@link ClientSocket} itself, so an idle connection costs no wrapper object, and it gives
 * the 1009 close that ws sends on its own when `maxPayload` is exceeded a reason: ws closes with a bare
 * code, and a client cannot tell why.
 */
export class GatewayWebSocket extends WebSocket implements ClientSocket {
  /** The listener that accepted it; set on 'connection'. */
  owner: GatewayWebSocketOwner | null = null;
  /** The gateway's connection record; set once the gateway accepted the connection. */
  client: ClientConnection | null = null;

  /**
   * ws reports everything through `emit`; the gateway's handling is called here directly instead of through
   * listeners registered on every connection: an EventEmitter's listener table is a hash table per object that
   * grows with every event name (about 100 bytes per idle connection for message, close, ping and pong), and a
   * message skips the emitter's lookup and argument copying. Listeners added with `on` still get their events.
   * 'error' always counts as handled, as with the listener the gateway used to add: ws closes the socket itself.
   */
  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    const owner = this.owner;
    if (owner !== null) {
      const client = this.client;
      switch (event) {
        case 'message':
          if (client !== null) owner.socketMessage(client, a as Buffer, b as boolean);
          break;
        case 'ping':
        case 'pong':
          if (client !== null) owner.socketActivity(client);
          break;
        case 'close':
          if (client !== null) owner.socketClosed(client, a as number);
          break;
        case 'error':
          owner.socketError(this, a as Error);
          if (this.listenerCount('error') === 0) return true;
          break;
      }
    }
    // EventEmitter's own count of listeners (any event): usually 0 here, which spares the per-event lookup.
    if ((this as unknown as { _eventsCount?: number })._eventsCount === 0) return false;
    return this.listenerCount(event) === 0 ? false : super.emit(event, a, b);
  }

  get isOpen(): boolean {
    return this.readyState === WebSocket.OPEN;
  }

  /** ClientSocket's `send(data, binary)`; ws's own signatures keep working for code that uses them. */
  override send(data: Buffer, binary: boolean): void;
  override send(data: Parameters<WebSocket['send']>[0], cb?: (err?: Error) => void): void;
  override send(
    data: Parameters<WebSocket['send']>[0],
    options: { binary?: boolean; mask?: boolean; compress?: boolean; fin?: boolean },
    cb?: (err?: Error) => void,
  ): void;
  // The implementation signature of ws's own overloads, which are typed for callers above.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override send(data: any, options?: any, cb?: any): void {
    if (typeof options === 'boolean') super.send(data, options ? BINARY : TEXT);
    else super.send(data, options, cb);
  }

  /**
   * Writes a prebuilt frame (built once per message, shared by every recipient of a broadcast) to the socket
   * directly, skipping ws's per-send framing: one write of header + payload for small messages. That is safe
   * only while ws's Sender has nothing of its own waiting (it queues sends while it compresses or reads a Blob,
   * which the gateway never asks of it: perMessageDeflate is off and it sends Buffers): then ws's own writes
   * (pings, pongs, the close frame) also go straight to the socket, so order holds. Otherwise, or if ws's
   * internals are not what this expects, the public `send` does the work. The socket stays corked until the end
   * of the turn (see corkForTurn): every message of the turn for this client leaves in one write.
   */
  sendMessage(message: OutgoingMessage): void {
    if (this.readyState !== WebSocket.OPEN) return;
    const { _socket: socket, _sender: sender } = this as unknown as WsInternals;
    if (socket === null || sender === null || sender._state !== 0 || sender._queue.length !== 0) {
      super.send(message.body, message.binary ? BINARY : TEXT);
      return;
    }
    corkForTurn(socket);
    if (message.joined) {
      socket.write(message.webSocketFrame());
    } else {
      socket.write(message.webSocketHeader());
      socket.write(message.body);
    }
  }

  override terminate(): void {
    // What this turn's sends corked (see corkForTurn) is handed to the kernel first, as the uncorked writes
    // before it would have been: a send followed by a destroy in the same turn still sends.
    const socket = (this as unknown as WsInternals)._socket;
    if (socket && socket.writableCorked !== 0 && !socket.destroyed) socket.uncork();
    super.terminate();
  }

  override close(code?: number, data?: string | Buffer): void {
    // ws's receiver calls close(1009) without a reason when a message passes maxPayload; nothing else in
    // the gateway closes with 1009 without one.
    if (code === MESSAGE_TOO_BIG && data === undefined && this.owner && this.readyState === WebSocket.OPEN) {
      data = this.owner.messageTooBig(this);
    }
    // A close the gateway (or ws, for a protocol error) starts is counted under its code; ws's echo of the
    // client's own close frame is not a close the gateway chose (CloseTally counts the client's code then).
    const client = this.client;
    if (client !== null && client.closeCode === 0 && (this as unknown as WsInternals)._closeFrameReceived !== true)
      client.closeCode = code ?? 1005;
    super.close(code, data);
  }
}

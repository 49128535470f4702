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

/** ws's own bufferedAmount getter (GatewayWebSocket adds the frame it holds for the end of the turn). */
const wsBufferedAmount = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'bufferedAmount')!.get!;

/** Sockets holding a frame for the end of the current turn (see {@link GatewayWebSocket.sendMessage}). */
const holding: GatewayWebSocket[] = [];

function writeAllHeld(): void {
  // Read the length on every step, as uncorkAll does: nothing here should add to it, but nothing is lost if it does.
  for (let i = 0; i < holding.length; i++) holding[i].writeHeld();
  holding.length = 0;
}

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
   * The one frame sent to this client in the current turn so far, written when the turn's code is done (or before
   * anything else this socket writes); null when none. See {@link sendMessage}.
   */
  private held: Buffer | null = null;

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

  /** ws's figure (bytes in the socket's buffer and ws's queue) plus the frame held for the end of the turn. */
  // @ts-expect-error ws's typings declare bufferedAmount as a property; ws defines it as a getter, overridden here.
  override get bufferedAmount(): number {
    const held = this.held;
    return (wsBufferedAmount.call(this) as number) + (held === null ? 0 : held.length);
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
    this.writeHeld();
    if (typeof options === 'boolean') super.send(data, options ? BINARY : TEXT);
    else super.send(data, options, cb);
  }

  /**
   * Writes a prebuilt frame (built once per message, shared by every recipient of a broadcast) to the socket
   * directly, skipping ws's per-send framing: one write of header + payload for small messages. That is safe
   * only while ws's Sender has nothing of its own waiting (it queues sends while it compresses or reads a Blob,
   * which the gateway never asks of it: perMessageDeflate is off and it sends Buffers): then ws's own writes
   * (pings, pongs, the close frame) also go straight to the socket. Otherwise, or if ws's internals are not what
   * this expects, the public `send` does the work.
   *
   * Every message of a turn for this client leaves in one write, at the end of the turn. The first small one is
   * held here (one field, no allocation) and written on its own then: at one message per client per turn, the
   * common case with many clients, that is a plain write, without the stream's buffered-write entry and the
   * cork's bookkeeping. A second one in the same turn (or a large one) corks the socket (see corkForTurn) with the
   * held frame first, so several leave in one writev as before. Whatever else writes to this socket (close,
   * terminate, ws's own send) writes the held frame first, so the order of the bytes never changes; the held
   * bytes count in {@link bufferedAmount}, so the slow-consumer bound sees them.
   */
  sendMessage(message: OutgoingMessage): void {
    if (this.readyState !== WebSocket.OPEN) return;
    const { _socket: socket, _sender: sender } = this as unknown as WsInternals;
    if (socket === null || sender === null || sender._state !== 0 || sender._queue.length !== 0) {
      this.writeHeld();
      super.send(message.body, message.binary ? BINARY : TEXT);
      return;
    }
    const joined = message.joined;
    if (joined && this.held === null && socket.writableCorked === 0) {
      this.held = message.webSocketFrame();
      if (holding.push(this) === 1) process.nextTick(writeAllHeld);
      return;
    }
    corkForTurn(socket);
    const held = this.held;
    if (held !== null) {
      this.held = null;
      socket.write(held);
    }
    if (joined) {
      socket.write(message.webSocketFrame());
    } else {
      socket.write(message.webSocketHeader());
      socket.write(message.body);
    }
  }

  /** Writes the frame held for the end of the turn, if any (a socket no longer writable drops it, as it would). */
  writeHeld(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    const socket = (this as unknown as WsInternals)._socket;
    if (socket !== null && socket.writable) socket.write(held);
  }

  // ws writes pings and pongs (its automatic answers too) straight to the socket: the held frame goes first, so
  // every frame keeps the order in which it was sent.
  override ping(data?: unknown, mask?: boolean, cb?: (err: Error) => void): void {
    this.writeHeld();
    super.ping(data, mask, cb);
  }

  override pong(data?: unknown, mask?: boolean, cb?: (err: Error) => void): void {
    this.writeHeld();
    super.pong(data, mask, cb);
  }

  override terminate(): void {
    // What this turn's sends held or corked (see sendMessage) is handed to the kernel first, as the uncorked
    // writes before it would have been: a send followed by a destroy in the same turn still sends.
    this.writeHeld();
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
    // The frame held for the end of the turn precedes the close frame.
    this.writeHeld();
    super.close(code, data);
  }
}

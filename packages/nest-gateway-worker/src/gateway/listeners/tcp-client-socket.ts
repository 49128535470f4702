import type { Socket } from 'node:net';
import type { ClientConnection } from '../client-connection';
import type { ClientSocket } from '../client-socket';
import type { OutgoingMessage } from '../outgoing-message';
import type { FramingDecoder } from './client-framing';
import type { TcpListener } from './tcp-listener';
import { corkForTurn } from './turn-cork';

/**
 * A raw TCP client connection with a framing, as a {@link ClientSocket}. `send` frames the message (the
 * `binary` flag has no meaning here); `close` flushes what is queued, then ends the connection (raw TCP has
 * no close code or reason); `terminate` drops it at once.
 */
export class TcpClientSocket implements ClientSocket {
  /** The gateway's connection record; set once the gateway accepted the connection. */
  client: ClientConnection | null = null;
  /** Created when the first bytes arrive: connections that never send cost no decoder. */
  private decoder: FramingDecoder | null = null;
  private closing = false;

  constructor(
    readonly socket: Socket,
    private readonly listener: TcpListener,
  ) {}

  get isOpen(): boolean {
    return !this.closing && !this.socket.destroyed;
  }

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  send(data: Buffer): void {
    if (this.isOpen) this.socket.write(this.listener.framing.encode(data));
  }

  /** The framing's encoding of the message, built once per message and framing (shared by a broadcast). */
  sendMessage(message: OutgoingMessage): void {
    if (!this.isOpen) return;
    // The turn's messages for this client leave in one write (see corkForTurn).
    corkForTurn(this.socket);
    this.socket.write(message.encodedFor(this.listener.framing));
  }

  /** `code`: why the gateway closes it (raw TCP sends no code; it is counted, see CloseTally). */
  close(code = 0): void {
    if (this.closing) return;
    this.closing = true;
    if (this.client !== null && this.client.closeCode === 0) this.client.closeCode = code;
    // Nothing more is read from a connection being closed; what is queued still goes out, then it ends.
    this.socket.pause();
    this.socket.destroySoon();
  }

  terminate(): void {
    this.closing = true;
    // What this turn's sends corked (see corkForTurn) goes to the kernel first, as an uncorked write would have.
    if (this.socket.writableCorked !== 0 && !this.socket.destroyed) this.socket.uncork();
    this.socket.destroy();
  }

  /** Received bytes: decoded into messages for the gateway; a framing error closes this connection only. */
  onData(chunk: Buffer): void {
    if (this.closing) return;
    const client = this.client!;
    const listener = this.listener;
    try {
      (this.decoder ??= listener.framing.createDecoder(listener.maxMessageBytes, (message) => {
        // A message that made the gateway close this client (e.g. a limit) ends the chunk's messages too.
        if (!this.closing) listener.hooks.message(client, message, listener.framing.binary);
      })).push(chunk);
    } catch (err) {
      listener.streamFailed(this, err);
    }
  }
}

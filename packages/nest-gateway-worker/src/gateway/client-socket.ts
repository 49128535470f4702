import type { OutgoingMessage } from './outgoing-message';

/**
 * What the gateway needs from one client connection, whatever listener it came through (WebSocket, TLS
 * WebSocket, raw TCP with a framing). The gateway writes opaque message bytes; the socket frames them.
 * Implementations: `GatewayWebSocket` (ws:// and wss://, the ws WebSocket itself) and `TcpClientSocket`.
 */
export interface ClientSocket {
  /** True while messages can be sent. */
  readonly isOpen: boolean;
  /** Bytes queued for this client and not yet written to the kernel (the slow-consumer measure). */
  readonly bufferedAmount: number;
  /** Sends one message; `binary` picks a WebSocket binary frame (ignored by framings without the notion). */
  send(data: Buffer, binary: boolean): void;
  /**
   * Sends a message whose wire bytes the {@link OutgoingMessage} builds once and shares between recipients (a
   * broadcast frames once, whatever the number of recipients). Optional: a socket without it gets `send`.
   */
  sendMessage?(message: OutgoingMessage): void;
  /** Closes gracefully; WebSocket clients receive `code` and `reason`, raw TCP clients only see the end. */
  close(code: number, reason?: string): void;
  /** Closes at once, discarding unsent output. */
  terminate(): void;
  /**
   * Sends a protocol-level ping (a WebSocket ping frame), on the heartbeat ticks on which PHP would send
   * pingData, so that peers that answer pings by themselves (browsers) stay alive with no application code.
   * Absent for framings without one (raw TCP): those get pingData only. The listener must report the answer
   * (the pong), like any other sign of life from the peer, through `ListenerHooks.activity(client)` (the ClientHub).
   */
  ping?(): void;
}

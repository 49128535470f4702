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
  /** Closes gracefully; WebSocket clients receive `code` and `reason`, raw TCP clients only see the end. */
  close(code: number, reason?: string): void;
  /** Closes at once, discarding unsent output. */
  terminate(): void;
}

import { WebSocket } from 'ws';

/**
 * What the gateway needs from one client connection, whatever listener it came through (WebSocket, TLS
 * WebSocket, raw TCP with a framing). The gateway writes opaque message bytes; the socket frames them.
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

/** A `ws` WebSocket as a ClientSocket. */
export class WebSocketClientSocket implements ClientSocket {
  constructor(readonly ws: WebSocket) {}

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  send(data: Buffer, binary: boolean): void {
    this.ws.send(data, { binary });
  }

  close(code: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }
}

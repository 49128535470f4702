/**
 * The part of the WebSocket API the client uses: the browser's `WebSocket`, Node's global `WebSocket` (Node 22+) and
 * the `ws` package's class all have it. Declared here so that the library needs neither the DOM nor Node's types.
 */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drops the connection without a closing handshake (used for a link found dead). */
  terminate?(): void;
  /** The listener types are loose so that the DOM's and ws's declarations both fit; the client reads what it needs. */
  addEventListener(
    type: 'open' | 'message' | 'close' | 'error',
    listener: ((event: never) => void) | { handleEvent(event: never): void },
  ): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** What the client reads from a message event. */
export interface MessageEventLike {
  data: unknown;
}

/** What the client reads from a close event. */
export interface CloseEventLike {
  code: number;
  reason: string;
}

/** WebSocket.OPEN */
export const OPEN = 1;

/** The WebSocket class to use: the one given, or the host's (browsers, Node 22+). */
export function webSocketClass(given: WebSocketConstructor | undefined): WebSocketConstructor {
  const found = given ?? (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!found) {
    throw new TypeError(
      'no WebSocket class: this runtime has no global WebSocket (Node before 22); pass one, e.g. ' +
        "new GatewayWorkerClient(url, { WebSocket }) with import { WebSocket } from 'ws'",
    );
  }
  return found;
}

import { WebSocket } from 'ws';
import type { ClientConnection } from '../client-connection';
import type { ClientSocket } from '../client-socket';

/** WebSocket close code for a message above the size limit. */
export const MESSAGE_TOO_BIG = 1009;

const BINARY = { binary: true } as const;
const TEXT = { binary: false } as const;

/** What a {@link GatewayWebSocket} asks of the listener that accepted it. */
export interface GatewayWebSocketOwner {
  /** ws is closing `socket` because a message passed `maxPayload`: counts it, returns the close reason. */
  messageTooBig(socket: GatewayWebSocket): string;
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

  get isOpen(): boolean {
    return this.readyState === WebSocket.OPEN;
  }

  /** ClientSocket's `send(data, binary)`; ws's own signatures keep working for code that uses them. */
  override send(data: Buffer, binary: boolean): void;
  override send(data: Parameters<WebSocket['send']>[0], cb?: (err?: Error) => void): void;
  override send(data: Parameters<WebSocket['send']>[0], options: { binary?: boolean; mask?: boolean; compress?: boolean; fin?: boolean }, cb?: (err?: Error) => void): void;
  override send(data: any, options?: any, cb?: any): void {
    if (typeof options === 'boolean') super.send(data, options ? BINARY : TEXT);
    else super.send(data, options, cb);
  }

  override close(code?: number, data?: string | Buffer): void {
    // ws's receiver calls close(1009) without a reason when a message passes maxPayload; nothing else in
    // the gateway closes with 1009 without one.
    if (code === MESSAGE_TOO_BIG && data === undefined && this.owner && this.readyState === WebSocket.OPEN) {
      data = this.owner.messageTooBig(this);
    }
    super.close(code, data);
  }
}

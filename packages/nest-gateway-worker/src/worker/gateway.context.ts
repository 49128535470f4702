import { BaseRpcContext } from '@nestjs/microservices';
import type { ClientMessage, CloseOptions, GatewayClient } from '../client/gateway-client';
import { GatewayArgumentError } from '../client/gateway-errors';
import type { ClientHandshake } from '../protocol/client-handshake';
import { DEFAULT_REJECT_CODE, isSendableCloseCode } from '../protocol/close-reason';
import type { ClientInfo } from '../protocol/connection-stats';
import type { ClientEvent, ClientEventKind } from './client-event';
import type { ConnectionRejection } from './connection-rejected.exception';

/**
 * The execution context of a client event handler (`@Ctx() ctx: GatewayContext`), like TcpContext for the
 * TCP transport.
 */
export class GatewayContext extends BaseRpcContext<[ClientEvent]> {
  private rejectedWith: ConnectionRejection | undefined;

  constructor(
    event: ClientEvent,
    private readonly client: GatewayClient,
  ) {
    super([event]);
  }

  /** Sends a message to the client of this event (PHP's sendToCurrentClient). */
  sendToCurrentClient(message: ClientMessage): Promise<void> {
    return this.client.sendToClient(this.clientId, message);
  }

  /** Closes the client of this event, after sending `message` if given; `close` picks the close code and reason. */
  closeCurrentClient(message?: ClientMessage | null, close?: CloseOptions & { confirm?: false }): Promise<void> {
    return this.client.closeClient(this.clientId, message, close);
  }

  /**
   * Rejects the client's connection once this handler returns: the gateway closes it with `code` (default 4403)
   * and `reason` (cut to 123 bytes), counts it as rejected, and none of the client's later events (messages
   * already on their way, its close) reach a handler. Nothing the handler returns is sent. The same as throwing
   * ConnectionRejectedException, without the throw (e.g. after logging or answering an audit service).
   */
  rejectConnection(reason = 'Forbidden', code = DEFAULT_REJECT_CODE): void {
    if (!isSendableCloseCode(code)) {
      throw new GatewayArgumentError(
        `rejectConnection: ${code} is not a close code an application may send (1000, 1001, 1008, 1011, 1013, 3000-4999)`,
      );
    }
    this.rejectedWith = { code, reason: String(reason) };
  }

  /** The rejection asked for with {@link rejectConnection}, if any. */
  get rejection(): ConnectionRejection | undefined {
    return this.rejectedWith;
  }

  /** Connection statistics of the client of this event (connected at, messages in/out, ...), null once it is gone. */
  getClientInfo(): Promise<ClientInfo | null> {
    return this.client.getClientInfo(this.clientId);
  }

  /** Drops the client of this event at once. */
  destroyCurrentClient(): Promise<void> {
    return this.client.destroyClient(this.clientId);
  }

  get event(): ClientEvent {
    return this.args[0];
  }

  get kind(): ClientEventKind {
    return this.args[0].kind;
  }

  get clientId(): string {
    return this.args[0].clientId;
  }

  get session(): Record<string, unknown> {
    return this.args[0].session;
  }

  get handshake(): ClientHandshake {
    return this.args[0].handshake;
  }

  get gatewayAddress(): string {
    return this.args[0].gatewayAddress;
  }

  get binary(): boolean {
    return this.args[0].binary;
  }
}

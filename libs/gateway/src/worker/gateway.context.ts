import { BaseRpcContext } from '@nestjs/microservices';
import type { ClientMessage, GatewayClient } from '../client/gateway-client';
import type { ClientHandshake } from '../protocol/client-handshake';
import type { ClientEvent, ClientEventKind } from './client-event';

/**
 * The execution context of a client event handler (`@Ctx() ctx: GatewayContext`), like TcpContext for the
 * TCP transport.
 */
export class GatewayContext extends BaseRpcContext<[ClientEvent]> {
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

  /** Closes the client of this event, after sending `message` if given. */
  closeCurrentClient(message?: ClientMessage | null): Promise<void> {
    return this.client.closeClient(this.clientId, message);
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

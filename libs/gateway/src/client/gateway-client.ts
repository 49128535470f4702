import { Injectable } from '@nestjs/common';
import { decodeClientId, gatewayAddress } from '../protocol/client-id';
import { messageFrameFields, toOutgoingMessage } from '../protocol/client-message';
import { Cmd } from '../protocol/command';
import type { GatewayFrame } from '../protocol/frame';
import { GatewayTransport } from '../worker/gateway-transport';

/**
 * The GatewayWorker API for Nest code: inject it (`@Inject(GatewayClient)`) and push to clients from any
 * handler. In a worker it rides the worker's own gateway links.
 *
 * Fire-and-forget methods return false when the gateway holding the client is not linked right now (as PHP's
 * Lib\Gateway does); they throw InvalidClientIdError for a malformed client_id.
 */
@Injectable()
export class GatewayClient {
  constructor(private readonly transport: GatewayTransport) {}

  /** Sends a message to one client: string → text frame, Buffer → binary frame, other values → JSON text. */
  sendToClient(clientId: string, message: unknown): boolean {
    const outgoing = toOutgoingMessage(message);
    return outgoing ? this.command(clientId, { cmd: Cmd.SendToOne, ...messageFrameFields(outgoing) }) : true;
  }

  /** Closes a client (WebSocket close 1000), after sending `message` if given. */
  closeClient(clientId: string, message?: unknown): boolean {
    const outgoing = toOutgoingMessage(message);
    return this.command(clientId, { cmd: Cmd.Kick, ...(outgoing && messageFrameFields(outgoing)) });
  }

  /** Drops a client's connection at once, discarding anything not yet sent. */
  destroyClient(clientId: string): boolean {
    return this.command(clientId, { cmd: Cmd.Destroy });
  }

  /** Replaces a client's whole session. */
  setSession(clientId: string, session: Record<string, unknown> | null): boolean {
    return this.command(clientId, { cmd: Cmd.SetSession, ext: Buffer.from(JSON.stringify(session)) });
  }

  /** Merges into a client's session: nested objects merge key by key; arrays and other values are replaced. */
  updateSession(clientId: string, session: Record<string, unknown>): boolean {
    return this.command(clientId, { cmd: Cmd.UpdateSession, ext: Buffer.from(JSON.stringify(session)) });
  }

  /** A single-client command goes to the gateway encoded in the client_id. */
  private command(clientId: string, fields: Partial<GatewayFrame> & { cmd: Cmd }): boolean {
    const address = decodeClientId(clientId);
    return this.transport.sendCommand(gatewayAddress(address), { ...fields, connectionId: address.connectionId });
  }
}

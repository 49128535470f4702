import { Injectable } from '@nestjs/common';
import { decodeClientId, gatewayAddressOf } from '../protocol/client-id';
import { toOutgoingMessage } from '../protocol/client-message';
import { Cmd, FrameFlag } from '../protocol/command';
import { encodeFrame, frame } from '../protocol/frame';
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
    const { connectionId } = decodeClientId(clientId);
    return this.transport.sendToClient(clientId, gatewayAddressOf(clientId), connectionId, message);
  }

  /** Closes a client (WebSocket close 1000), after sending `message` if given. */
  closeClient(clientId: string, message?: unknown): boolean {
    const outgoing = toOutgoingMessage(message);
    return this.command(clientId, Cmd.Kick, {
      flag: FrameFlag.BodyIsScalar | (outgoing?.binary ? FrameFlag.Binary : 0),
      body: outgoing?.body,
    });
  }

  /** Drops a client's connection at once, discarding anything not yet sent. */
  destroyClient(clientId: string): boolean {
    return this.command(clientId, Cmd.Destroy, {});
  }

  /** Replaces a client's whole session. */
  setSession(clientId: string, session: Record<string, unknown> | null): boolean {
    return this.command(clientId, Cmd.SetSession, { ext: Buffer.from(JSON.stringify(session)) });
  }

  /** Merges into a client's session: nested objects merge key by key; arrays and other values are replaced. */
  updateSession(clientId: string, session: Record<string, unknown>): boolean {
    return this.command(clientId, Cmd.UpdateSession, { ext: Buffer.from(JSON.stringify(session)) });
  }

  private command(clientId: string, cmd: Cmd, fields: { flag?: number; body?: Buffer; ext?: Buffer }): boolean {
    const { connectionId } = decodeClientId(clientId);
    const f = frame({ cmd, connectionId });
    if (fields.flag !== undefined) f.flag = fields.flag;
    if (fields.body) f.body = fields.body;
    if (fields.ext) f.ext = fields.ext;
    return this.transport.links.send(gatewayAddressOf(clientId), encodeFrame(f));
  }
}

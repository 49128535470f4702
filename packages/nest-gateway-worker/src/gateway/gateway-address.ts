import { encodeClientId, ipv4ToNumber } from '../protocol/client-id';
import type { ClientConnection } from './client-connection';

/**
 * Where this gateway is, as the inner protocol states it: the lan IPv4 and inner port that make up the first two
 * parts of every client_id, and the client port that event frames carry as `gatewayPort`. The ports are known
 * only once the gateway is listening (port 0 = any free port): GatewayServer.start sets them, and every reader
 * (event delivery, the command table, the router's client ids) reads them at use time.
 */
export class GatewayAddress {
  /** The lan IPv4 as u32 (the frame header field). */
  readonly lanIp: number;
  /** The inner port workers and SDK clients connect to; 0 until the inner listener is bound. */
  innerPort = 0;
  /** The first client listener's port: the `gatewayPort` of event frames; 0 until it is bound. */
  clientPort = 0;

  constructor(
    /** The lan IPv4 as text, as configured. */
    readonly lanIpText: string,
  ) {
    this.lanIp = ipv4ToNumber(lanIpText);
  }

  /** "lanIp:innerPort": the address announced to the registers and reported by getGatewayStats. */
  get innerAddress(): string {
    return `${this.lanIpText}:${this.innerPort}`;
  }

  /** The client_id of one of this gateway's connections. */
  clientId(client: ClientConnection): string {
    return encodeClientId({ localIp: this.lanIp, localPort: this.innerPort, connectionId: client.id });
  }
}

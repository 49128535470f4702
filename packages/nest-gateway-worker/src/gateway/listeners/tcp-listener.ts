import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ListenUrl } from '../../config/environment';
import { remoteIpToNumber } from '../../protocol/client-id';
import type { ClientHandshake } from '../../protocol/client-handshake';
import { FramingError, type ClientFraming } from './client-framing';
import {
  forgetPeerName,
  plainRemoteAddress,
  urlAuthority,
  type ClientListener,
  type ListenerHooks,
} from './client-listener';
import { MALFORMED_STREAM_CLOSE_CODE } from '../close-codes';
import { listenOn } from './listen-on';
import { TcpClientSocket } from './tcp-client-socket';

/** Raw TCP connections have no request line, query or headers: one shared empty value for all of them. */
const NO_QUERY: Record<string, string> = Object.freeze({}) as Record<string, string>;
const NO_HEADERS = Object.freeze({});

/**
 * A raw TCP client listener (text://, frame://, or a custom framing's scheme): every connection is a
 * {@link TcpClientSocket} whose bytes the framing cuts into messages.
 */
export class TcpListener implements ClientListener {
  url = '';
  port = 0;
  openedConnections = 0;
  openConnections = 0;
  private server: Server | null = null;

  constructor(
    private readonly where: ListenUrl,
    readonly framing: ClientFraming,
    readonly hooks: ListenerHooks,
    /** Largest message accepted, in bytes (without the framing's own bytes). */
    readonly maxMessageBytes: number,
  ) {}

  async listen(): Promise<void> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    await listenOn(server, this.where.port, this.where.host);
    server.on('error', (err) => this.hooks.logger.error(`client listener ${this.url} error: ${err.message}`));
    this.port = (server.address() as AddressInfo).port;
    this.url = `${this.where.scheme}://${urlAuthority(this.where.host, this.port)}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The framing rejected a connection's bytes (or the gateway failed on them): that connection is closed. */
  streamFailed(socket: TcpClientSocket, err: unknown): void {
    const id = socket.client?.id;
    if (err instanceof FramingError) {
      if (err.oversize) this.hooks.counters.oversizeDisconnects++;
      else this.hooks.counters.malformedDisconnects++;
      this.hooks.closeWarnings.warn(
        err.oversize ? 'oversize' : 'malformed',
        `client ${id} (${this.framing.name}) closed: ${err.message}`,
      );
    } else {
      this.hooks.logger.error(`client ${id} (${this.framing.name}) closed: ${(err as Error)?.message ?? String(err)}`);
    }
    // A peer that does not read would keep the flush (and the connection) waiting forever: the reaper cuts it.
    this.hooks.closeSocket(socket, MALFORMED_STREAM_CLOSE_CODE, '');
  }

  /**
   * Counted at accept like every client connection (dropped at once over a limit), and opened as a client right
   * away, as PHP does; the gateway drops it if it sends nothing within the handshake timeout.
   */
  private accept(raw: Socket): void {
    if (!this.hooks.accepted(raw)) return;
    const socket = new TcpClientSocket(raw, this);
    raw.on('error', (err) =>
      this.hooks.logger.debug(`client ${socket.client?.id ?? '(not accepted)'}: ${err.message}`),
    );
    const address = raw.remoteAddress;
    const handshake: ClientHandshake = {
      listener: this.url,
      protocol: this.framing.name,
      remoteAddress: plainRemoteAddress(address),
      remotePort: raw.remotePort ?? 0,
      url: '',
      query: NO_QUERY,
      headers: NO_HEADERS,
    };
    forgetPeerName(raw);
    const client = this.hooks.opened(socket, handshake, remoteIpToNumber(address), raw);
    if (!client) return;
    socket.client = client;
    this.openedConnections++;
    this.openConnections++;
    raw.on('data', (chunk: Buffer) => socket.onData(chunk));
    raw.once('close', () => {
      this.openConnections--;
      this.hooks.closed(client);
    });
  }
}

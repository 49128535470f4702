import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { rejectedLinksLog } from '../logging/rejected-links';
import { InnerLink } from '../protocol/inner-link';
import {
  LineDecoder,
  encodeRegisterMessage,
  parseRegisterMessage,
  RegisterMessageError,
  type RegisterMessage,
} from '../protocol/register-message';
import { phpSecretKeyMatches } from '../php/php-secret-key';
import type { ResolvedRegisterOptions } from './register-options';

type RegisterLink = InnerLink<string>;

/**
 * Service discovery. Gateways announce their inner address (`gateway_connect`); workers and SDK clients
 * subscribe (`worker_connect`) and receive the whole gateway list now and after every change. The register
 * holds no other state, so several may run side by side: peers use all of them.
 */
export class RegisterServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RegisterServer.name);
  private server: Server | null = null;
  private readonly gateways = new Map<RegisterLink, string>();
  private readonly subscribers = new Set<RegisterLink>();
  private readonly links = new Set<RegisterLink>();
  /**
   * Links closed for bad input (not the inner protocol, a wrong secret, a bad request, no hello in time): counted
   * here (its total and per reason), logged at most once per reason every 10 s, then a summary
   * line with the count. The register has no stats API yet: the summary lines are where the counts are read.
   */
  readonly rejections = rejectedLinksLog(this.logger, 'register link(s)');
  /** Gateway lists sent to subscribers (workers and SDK clients): one per subscriber per change, and one per subscription. */
  listPushes = 0;

  constructor(private readonly options: ResolvedRegisterOptions) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.listen();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /** Starts listening; resolves with the bound address (port 0 becomes the OS's choice). */
  async listen(): Promise<AddressInfo> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.listen.port, this.options.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.logger.error(`listener error: ${err.message}`));
    const address = server.address() as AddressInfo;
    this.logger.log(
      `Register listening on ${address.address}:${address.port}` +
        (this.options.secret ? '' : ' (plaintext inner links)'),
    );
    return address;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.rejections.stop();
    for (const link of this.links) link.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The current gateway list, without duplicates. */
  get addresses(): string[] {
    return [...new Set(this.gateways.values())];
  }

  /** Whether it is listening (from listen() until close()). */
  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  /** Links open now: gateways, subscribers (workers and SDK clients), and peers that have not said who they are yet. */
  get linkCount(): number {
    return this.links.size;
  }

  /** Subscribers (workers and SDK clients) it pushes the gateway list to. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  private accept(socket: Socket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const link: RegisterLink = new InnerLink(socket, {
      secret: this.options.secret,
      role: 'responder',
      decoder: new LineDecoder(),
      label: `register peer ${peer}`,
      logger: this.logger,
      rejections: this.rejections,
    });
    this.links.add(link);
    // A peer that connects and says nothing (port scanners, health probes) is dropped after the timeout.
    const helloTimer = setTimeout(() => link.destroy('no hello within the time allowed'), this.options.helloTimeoutMs);
    helloTimer.unref();
    link.on('message', (line: string) => {
      clearTimeout(helloTimer);
      let message: RegisterMessage;
      try {
        message = parseRegisterMessage(line);
      } catch (err) {
        if (!(err instanceof RegisterMessageError)) throw err;
        return link.destroy(`bad request: ${err.message}`);
      }
      this.handle(link, message);
    });
    link.on('close', () => {
      clearTimeout(helloTimer);
      this.links.delete(link);
      this.subscribers.delete(link);
      const address = this.gateways.get(link);
      if (address !== undefined) {
        this.gateways.delete(link);
        this.logger.log(`gateway ${address} left`);
        this.broadcast();
      }
    });
  }

  private handle(link: RegisterLink, message: RegisterMessage): void {
    if (
      this.options.wireProfile === 'php' &&
      (message.event === 'gateway_connect' || message.event === 'worker_connect') &&
      !phpSecretKeyMatches(message.secret_key, this.options.phpSecretKey)
    ) {
      // PHP's register closes without a reply; neither key is ever logged.
      return link.destroy(`${message.event} with a secret_key that does not match PHP_SECRET_KEY`);
    }
    switch (message.event) {
      case 'gateway_connect':
        this.gateways.set(link, message.address);
        this.logger.log(`gateway ${message.address} registered`);
        this.broadcast();
        return;
      case 'worker_connect':
        this.subscribers.add(link);
        link.send(this.listMessage());
        this.listPushes++;
        return;
      case 'ping':
        return;
      case 'broadcast_addresses':
        return link.destroy('bad request: broadcast_addresses is sent by registers, not to them');
    }
  }

  private listMessage(): Buffer {
    return encodeRegisterMessage({ event: 'broadcast_addresses', addresses: this.addresses });
  }

  private broadcast(): void {
    const message = this.listMessage();
    for (const link of this.subscribers) link.send(message);
    this.listPushes += this.subscribers.size;
  }
}

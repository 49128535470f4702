import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GatewayBackplane } from '../backplane/gateway-backplane';
import { RegisterClient } from '../register/register-client';
import { ClientHub } from './client-hub';
import { CommandTable } from './commands/command-table';
import type { ResolvedGatewayOptions } from './gateway-options';
import { GatewayCounters } from './gateway-stats';
import { InnerListener } from './inner/inner-listener';
import { PhpInnerPeers } from '../php/php-inner-peers';
import type { ClientListener } from './listeners/client-listener';
import {
  createClientListener,
  framingRegistry,
  resolveListeners,
  type ResolvedListener,
} from './listeners/listener-factory';

/** Where a gateway is in its life: created, starting (binding), running, stopping (graceful stop begun). */
export type GatewayPhase = 'created' | 'starting' | 'running' | 'stopping';

/** A gateway's parts, read by the admin listener (metrics and readiness). Read them; do not drive them. */
export interface GatewayParts {
  readonly counters: GatewayCounters;
  readonly hub: ClientHub;
  readonly commands: CommandTable;
  readonly inner: InnerListener;
  readonly listeners: readonly ClientListener[];
  /** Its link to the registers; null before start. */
  readonly register: RegisterClient | null;
}

/** What {@link GatewayServer.start} bound to. */
export interface GatewayAddresses {
  /** The first client listener's URL with its bound port, e.g. ws://127.0.0.1:7272. */
  clientUrl: string;
  /** Every client listener's URL with its bound port, in configuration order (the first is `clientUrl`). */
  clientUrls: string[];
  /** "lanIp:port" announced to the register and embedded in client_ids. */
  innerAddress: string;
}

/**
 * The gateway: holds client connections, forwards their events to workers (sticky, least connections) and
 * executes the commands workers and SDK clients send. It never parses a client payload.
 *
 * This class is the Nest lifecycle and the composition root: it builds the parts (the client hub with its event
 * delivery, the command table, the inner listener, the client listeners), starts them in order and stops them
 * gracefully. The parts talk to each other directly: listeners report to the hub, the hub forwards events
 * through delivery, the inner listener hands worker frames to delivery and commands to the command table, and
 * the command table sends and closes through the hub.
 */
export class GatewayServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Gateway');
  readonly counters = new GatewayCounters();
  private readonly hub: ClientHub;
  private readonly commands: CommandTable;
  private readonly inner: InnerListener;
  private listeners: ClientListener[] = [];
  private register: RegisterClient | null = null;
  /** The Redis backplane (lease and presence directory), when configured. */
  readonly backplane: GatewayBackplane | null;
  /** Set by the first stop(); later calls share it. */
  private stopping: Promise<void> | null = null;
  private started: 'no' | 'starting' | 'yes' = 'no';

  /** `options`: resolved (resolveGatewayOptions, gatewayOptionsFromEnv); GatewayModule.forGateway resolves them. */
  constructor(private readonly options: ResolvedGatewayOptions) {
    this.hub = new ClientHub(options, this.counters);
    this.commands = new CommandTable(this.hub);
    this.inner = new InnerListener(
      options,
      this.hub.delivery,
      this.commands,
      this.counters,
      options.wireProfile === 'php' ? new PhpInnerPeers({ phpSecretKey: options.phpSecretKey }, this.hub) : null,
    );
    this.backplane = options.backplane ? new GatewayBackplane(options.backplane, this.hub.membership) : null;
    this.commands.backplane = this.backplane;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** Where the gateway is in its life (readiness reads it). */
  get phase(): GatewayPhase {
    if (this.stopping) return 'stopping';
    return this.started === 'yes' ? 'running' : this.started === 'starting' ? 'starting' : 'created';
  }

  /** Its parts, for the admin listener's metrics and readiness. */
  get parts(): GatewayParts {
    return {
      counters: this.counters,
      hub: this.hub,
      commands: this.commands,
      inner: this.inner,
      listeners: this.listeners,
      register: this.register,
    };
  }

  async start(): Promise<GatewayAddresses> {
    this.started = 'starting';
    // Checked before anything is bound: a listener configuration error leaves nothing open behind it.
    const listeners = resolveListeners(
      this.options.listeners,
      framingRegistry(this.options.framings),
      (i) => `GatewayOptions.listeners[${i}].url`,
    );
    const address = this.hub.address;
    address.innerPort = await this.inner.listen();
    this.commands.start();
    try {
      await this.listenClients(listeners);
    } catch (err) {
      // A client address that cannot be bound (in use, no permission): release the inner port too.
      await this.inner.close();
      throw err;
    }
    this.hub.start();
    const innerAddress = address.innerAddress;
    const clientUrls = this.listeners.map((l) => l.url);
    if (this.options.registers.length > 0) {
      this.register = new RegisterClient({
        registers: this.options.registers,
        secret: this.options.secret,
        announce: innerAddress,
        ...(this.options.wireProfile === 'php' ? { phpSecretKey: this.options.phpSecretKey } : {}),
        logContext: 'Gateway',
      });
      this.register.start();
    }
    await this.backplane?.start(innerAddress);
    this.started = 'yes';
    this.logger.log(
      `Gateway ready: clients ${clientUrls.join(', ')}, inner ${innerAddress}` +
        (this.options.secret ? '' : ' (plaintext inner links)') +
        (this.options.wireProfile === 'php' ? ', PHP GatewayWorker peers accepted (WIRE_PROFILE=php)' : ''),
    );
    return { clientUrl: clientUrls[0], clientUrls, innerAddress };
  }

  /**
   * Graceful shutdown (SIGTERM): deregisters from the registers and withdraws from the backplane first (they drop
   * this gateway from the list they give workers and SDK clients, so no new work is routed here), stops accepting,
   * closes every client
   * with 1001 "gateway shutting down" (reconnect elsewhere), waits until every client is gone (each close hands
   * its OnClose to the client's worker) at most `shutdownTimeoutMs`, cuts the stragglers, then ends the inner
   * links after their queued frames and waits for the peers to close them (InnerLink bounds that to 2 s).
   * Idempotent: later calls return the first call's promise.
   */
  stop(): Promise<void> {
    return (this.stopping ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    const startedAt = Date.now();
    const timeoutMs = this.options.shutdownTimeoutMs;
    this.register?.stop();
    // Before any client is closed: senders drop this gateway from their targets at once (bounded in time).
    await this.backplane?.withdraw();
    const listenersClosed = this.closeListeners();
    const clients = this.hub.closeAll();
    await this.hub.allGone(startedAt + timeoutMs);
    const cut = this.hub.cutAll();
    // A terminated socket reports its close on a later turn; its OnClose must still be queued before the links end.
    if (cut > 0) await this.hub.allGone(Date.now() + 1_000);
    // Workers could (re)connect while the clients drained, to receive their OnClose; from now on nobody can, so
    // the links ended here are all there are and the inner listener's close completes once they are closed.
    const links = this.inner.linkCount;
    // InnerLink.end() destroys a link whose peer does not close within 2 s; the extra bound is only a safety net.
    await this.bounded(Promise.all([this.inner.close(), listenersClosed]), 5_000);
    this.hub.flushReaper();
    this.logger.log(
      `Gateway stopped in ${Date.now() - startedAt} ms: ${clients} client(s) told to reconnect, ` +
        `${clients - cut} closed in time, ${cut} cut at the ${timeoutMs} ms bound; ${links} inner link(s) flushed`,
    );
  }

  /** Waits for `promise`, at most `ms` milliseconds. */
  private async bounded(promise: Promise<unknown>, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /** Stops every client listener from accepting; resolves once they are closed. Existing connections stay. */
  private async closeListeners(): Promise<void> {
    const listeners = this.listeners;
    this.listeners = [];
    await Promise.all(listeners.map((l) => l.close()));
  }

  /**
   * Binds every configured client listener (ws, wss, text, frame, custom framings); they all report to the
   * hub, so client ids and the whole API work the same whatever the listener.
   */
  private async listenClients(resolved: ResolvedListener[]): Promise<void> {
    const limits = {
      maxMessageBytes: this.options.maxMessageSize,
      handshakeTimeoutMs: this.options.handshakeTimeoutMs,
    };
    this.listeners = resolved.map((r) => createClientListener(r, this.hub, limits));
    try {
      for (const listener of this.listeners) await listener.listen();
    } catch (err) {
      await this.closeListeners();
      throw err;
    }
    this.hub.address.clientPort = this.listeners[0].port;
  }
}

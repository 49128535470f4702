import { Logger } from '@nestjs/common';
import type { EventEmitter } from 'node:events';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { ClientBackplane } from '../backplane/client-backplane';
import { Cmd } from '../protocol/command';
import type { GatewayFrame } from '../protocol/frame';
import type { InnerLink } from '../protocol/inner-link';
import { GatewayClient } from '../client/gateway-client';
import { clientPartsOf, withBackplane } from '../client/gateway-client-options';
import { workerHello, type WorkerHello } from '../client/gateway-hello';
import { GatewayLinkPool } from '../client/gateway-link-pool';
import { GATEWAY_TRANSPORT } from './client-event.decorators';
import { EventRunner } from './event-runner';
import { HandlerFastPath, type NestHandlerSources } from './handler-fast-path';
import { HandlerRoutes } from './handler-routes';
import { SessionStoreSync } from './session-store-sync';
import { SessionWriteBack } from './session-write-back';
import { WorkerDrain } from './worker-drain';
import type { ResolvedWorkerOptions } from './worker-options';

/**
 * The worker side of the cluster as a Nest microservice transport: it learns gateways from the register, keeps a
 * link to every one, and hands their client events to `@OnClientConnect()`, `@OnClientMessage()` and
 * `@OnClientClose()` handlers. Written against the `Server` API Nest 11 and 12 share.
 *
 * Only the Nest adapter: it builds the parts and wires the links' events to them. Running one event (handler,
 * reply, session write-back, ack) is the EventRunner's; the drain is WorkerDrain's; the live `@Session()` objects
 * and the session store are SessionWriteBack's, which is also what this worker's GatewayClient calls back.
 */
export class GatewayTransport extends Server implements CustomTransportStrategy {
  override transportId = GATEWAY_TRANSPORT;
  // Our own logger: the base class's protected members are not part of the API Nest 11 and 12 share.
  private readonly log = new Logger('Worker');
  readonly links: GatewayLinkPool;
  /** The GatewayClient of this worker (what `@Inject(GatewayClient)` gives), riding {@link links}. */
  readonly client: GatewayClient;
  /** Runs the client events (the admin listener reads its figures and measures its handlers). */
  readonly runner: EventRunner;
  private readonly drainer: WorkerDrain;
  /** The Redis backplane (discovery, targeted fan-out, session store), when configured. */
  readonly backplane: ClientBackplane | null;
  private listening = false;
  /** Who the links say this worker is: its key, and whether it takes dead letters. */
  private readonly hello: WorkerHello;
  /** Which handlers skip Nest's RPC wrapper; null when `fastPath` is off. Set up by {@link useNestContainer}. */
  private fastPath: HandlerFastPath | null = null;

  /** `options`: resolved (resolveWorkerOptions, workerOptionsFromEnv); GatewayModule.forWorker resolves them. */
  constructor(readonly options: ResolvedWorkerOptions) {
    super();
    this.backplane = options.backplane ? new ClientBackplane(options.backplane, 'Worker', options.secret) : null;
    this.hello = workerHello(options.name);
    const { links, settings } = clientPartsOf(options, {
      hello: this.hello,
      maxFrameSize: options.maxFrameSize,
      // Listening (from links.start() in listen() to close()) holds the process, as a server's socket does.
      keepProcessAlive: true,
      sources: this.backplane ? [this.backplane.watch] : [],
    });
    this.links = new GatewayLinkPool(links);
    this.backplane?.attach(this.links);
    const sessions = new SessionWriteBack(this.links);
    this.client = new GatewayClient(this.links, withBackplane(settings, this.backplane), sessions);
    const store = options.sessionStore === 'backplane' ? this.backplane?.sessionStore() : options.sessionStore;
    if (store) {
      sessions.saveTo(
        new SessionStoreSync({
          store,
          live: sessions.live,
          gateways: this.links,
          client: this.client,
        }),
      );
    }
    this.runner = new EventRunner({ links: this.links, sessions, client: this.client, observables: this });
    this.drainer = new WorkerDrain(this.links, this.runner, options.drainTimeoutMs);
  }

  /**
   * Where the handlers' methods are (GatewayModule calls it with the app's ModulesContainer and ApplicationConfig):
   * handlers that need nothing of Nest's RPC wrapper are then called directly (HandlerFastPath). A transport built
   * without it runs every handler through Nest's wrapper.
   */
  useNestContainer(sources: NestHandlerSources): void {
    this.fastPath = new HandlerFastPath(sources);
  }

  /** Nest registers a handler: the global enhancers its wrapper captured are noted now (see HandlerFastPath). */
  override addHandler(
    pattern: unknown,
    callback: MessageHandler,
    isEventHandler?: boolean,
    extras?: Record<string, unknown>,
  ): void {
    this.fastPath?.registered();
    super.addHandler(pattern, callback, isEventHandler, extras);
  }

  listen(callback: (...optionalParams: unknown[]) => void): void {
    const routes = new HandlerRoutes(
      this.getHandlers(),
      this.options.fastPath ? (this.fastPath ?? new HandlerFastPath(null)) : null,
    );
    for (const [route, path] of routes.paths) this.log.debug(`handler ${route}: ${path}`);
    this.runner.route(routes);
    // Gateways send dead letters only to workers that say they have a handler for them.
    this.hello.deadLetters = routes.deadLetter !== undefined;
    this.links.on('frame', (f: GatewayFrame, address: string, link: InnerLink<GatewayFrame>) => {
      if (f.cmd === Cmd.WorkerDrained) this.drainer.answered(address);
      else this.runner.frame(f, address, link);
    });
    this.links.on('gateway', (address: string, state: 'up' | 'down') => {
      if (state === 'down') this.runner.gatewayLost(address);
      this.drainer.gatewayChanged(address, state);
    });
    this.drainer.start();
    this.links.start();
    this.listening = true;
    this.log.log(
      `Worker ${this.links.key} started: ${routes.typedCount} typed message handler(s)` +
        (routes.hasUntypedMessage ? ' + untyped handler' : '') +
        (routes.deadLetter ? ' + dead-letter handler' : '') +
        `, ${routes.directCount} of ${routes.paths.size} on the direct path` +
        (this.options.secret ? '' : ' (plaintext inner links)'),
    );
    callback();
  }

  /** Whether the transport listens (Nest called listen()) and has not begun to drain. */
  get running(): boolean {
    return this.listening && !this.drainer.draining;
  }

  /** Whether a drain has begun (drain(), app.close(), SIGTERM under runRole). */
  get draining(): boolean {
    return this.drainer.draining;
  }

  /**
   * Nest calls this on app.close() (and on SIGTERM with enableShutdownHooks) and awaits it: the worker drains
   * ({@link drain}), then closes its links.
   */
  async close(): Promise<void> {
    await this.drain();
    this.links.stop();
    await this.backplane?.close();
  }

  /**
   * Graceful stop of event handling, bounded by `drainTimeoutMs`: tells every gateway to stop sending events
   * here (its clients move to other workers), waits until each has answered (every event it sent is then
   * received), waits for the handlers in flight, and sends their acks. The links stay open (GatewayClient calls
   * keep working) until close(). Idempotent; call it yourself before app.close() to drain while the app's other
   * providers are still alive (in a hybrid app Nest destroys them before it closes the microservice).
   */
  drain(): Promise<void> {
    return this.drainer.drain();
  }

  // Nest's Server declares on(event, callback: Function); the signature is its.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  on(event: string, callback: Function): void {
    // The pool's events are typed; Nest's on() takes any name, so it passes through untyped.
    (this.links as EventEmitter).on(event, callback as (...args: unknown[]) => void);
  }

  unwrap<T>(): T {
    return this.links as T;
  }
}

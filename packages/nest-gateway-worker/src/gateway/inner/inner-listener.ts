import { Logger } from '@nestjs/common';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Cmd, cmdName } from '../../protocol/command';
import type { GatewayFrame } from '../../protocol/frame';
import { FrameDecoder } from '../../protocol/frame-decoder';
import type { RateLimitedLog } from '../../logging/rate-limited-log';
import { rejectedLinksLog } from '../../logging/rejected-links';
import { InnerLink } from '../../protocol/inner-link';
import type { CommandTable } from '../commands/command-table';
import type { EventDelivery } from '../delivery/event-delivery';
import type { WorkerChannel } from '../delivery/worker-channel';
import type { ResolvedGatewayOptions } from '../gateway-options';
import type { GatewayCounters } from '../gateway-stats';
import { listenOn } from '../listeners/listen-on';
import { isPhpFirstFrame, type PhpInnerPeers, type PhpPeer } from '../../php/php-inner-peers';

/** The options the inner listener reads. */
export type InnerListenerOptions = Pick<ResolvedGatewayOptions, 'lanIp' | 'startPort' | 'secret' | 'maxFrameSize'>;

/** Time an inner peer has to say who it is before its link is dropped. */
const IDENTIFY_TIMEOUT_MS = 10_000;

/**
 * The gateway's inner port: accepts the encrypted links of workers and SDK clients, and tells them apart by
 * their first frame (WorkerConnect with a worker_key, or GatewayClientConnect). A worker's link is handed to event
 * delivery, which sends it client events; its EventAck and WorkerDraining frames go to delivery too. Every other
 * frame, from a worker or an SDK client, is a command for the command table, which answers on the same link.
 */
export class InnerListener {
  private readonly logger = new Logger('Gateway');
  private server: Server | null = null;
  private readonly links = new Set<InnerLink<GatewayFrame>>();
  /** Links closed for bad input (anyone who reaches the port can cause them): rate-limited lines, counted. */
  readonly rejections: RateLimitedLog;

  constructor(
    private readonly options: InnerListenerOptions,
    private readonly delivery: EventDelivery,
    private readonly commands: CommandTable,
    counters?: GatewayCounters,
    /** The php wire profile: PHP peers told apart by their first frame (see isPhpFirstFrame); null = refused. */
    private readonly php: PhpInnerPeers | null = null,
  ) {
    this.rejections = rejectedLinksLog(this.logger, 'inner link(s)', counters && (() => counters.innerLinksRejected++));
  }

  /** Inner links open now (workers and SDK clients, identified or not). */
  get linkCount(): number {
    return this.links.size;
  }

  /** Binds the inner port (exclusively); resolves with the bound port. */
  async listen(): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    // Exclusive: in a cluster (GATEWAY_COUNT) every gateway process needs its own inner port, never a shared one.
    await listenOn(server, this.options.startPort, this.options.lanIp, true);
    server.on('error', (err) => this.logger.error(`inner listener error: ${err.message}`));
    return (server.address() as AddressInfo).port;
  }

  /**
   * Stops accepting and ends every link after its queued frames (the gateway is stopping: delivery redelivers
   * nothing from now on). Resolves once the links are closed (InnerLink.end bounds each to 2 s) and the
   * listener is closed.
   */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    const serverClosed = server && new Promise<void>((resolve) => server.close(() => resolve()));
    this.rejections.stop();
    const links = [...this.links];
    const linksClosed = Promise.all(links.map((link) => new Promise((resolve) => link.once('close', resolve))));
    this.delivery.stop();
    for (const link of links) link.end();
    await Promise.all([linksClosed, serverClosed]);
  }

  /** A new inner connection: a worker (WorkerConnect) or an SDK client (GatewayClientConnect). */
  private accept(socket: Socket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const link = new InnerLink<GatewayFrame>(socket, {
      secret: this.options.secret,
      role: 'responder',
      decoder: new FrameDecoder(this.options.maxFrameSize),
      label: `inner peer ${peer}`,
      logger: this.logger,
      rejections: this.rejections,
    });
    this.links.add(link);
    let worker: WorkerChannel | null = null;
    let identified = false;
    let phpPeer: PhpPeer | null = null;
    const identifyTimer = setTimeout(() => link.destroy('did not identify itself within 10 s'), IDENTIFY_TIMEOUT_MS);
    identifyTimer.unref();

    link.on('message', (f: GatewayFrame) => {
      if (phpPeer) return phpPeer.frame(f);
      if (identified) {
        if (worker && f.cmd === Cmd.EventAck) return this.delivery.acknowledge(worker, f);
        if (worker && f.cmd === Cmd.WorkerDraining) return this.delivery.drain(worker);
        return this.commands.execute(f, link);
      }
      clearTimeout(identifyTimer);
      if (isPhpFirstFrame(f)) {
        if (!this.php) {
          return link.destroy(
            'a PHP GatewayWorker peer (secret_key in its hello, or a command first): this gateway runs WIRE_PROFILE=native',
          );
        }
        identified = true;
        phpPeer = this.php.accept(f, link, socket.remoteAddress ?? '', peer);
        worker = phpPeer?.worker ?? null;
        return;
      }
      // A PHP secret guards the inner port: a native plaintext peer has no way to show it.
      if (this.php?.refusesNativePeers) return link.destroy(this.php.nativePeerRefusal);
      if (f.cmd === Cmd.WorkerConnect) {
        const hello = workerHelloOf(f);
        if (hello === undefined) return link.destroy('WorkerConnect without a worker_key');
        identified = true;
        worker = this.delivery.addWorker(hello.key, link, socket.remoteAddress ?? '', peer, hello.deadLetters);
      } else if (f.cmd === Cmd.GatewayClientConnect) {
        identified = true;
      } else {
        link.destroy(`first frame must be WorkerConnect or GatewayClientConnect, got ${cmdName(f.cmd)}`);
      }
    });
    link.on('close', () => {
      clearTimeout(identifyTimer);
      this.links.delete(link);
      if (worker) this.delivery.workerClosed(worker);
    });
  }
}

/**
 * What a WorkerConnect frame says (body `{"worker_key": "...", "dead_letters"?: true}`): the worker's key, and
 * whether it has an `@OnDeadLetter()` handler; undefined when it has no key.
 */
function workerHelloOf(f: GatewayFrame): { key: string; deadLetters: boolean } | undefined {
  let body: { worker_key?: unknown; dead_letters?: unknown } | null;
  try {
    body = JSON.parse(f.body.toString('utf8')) as typeof body;
  } catch {
    return undefined;
  }
  const key = body?.worker_key;
  if (typeof key !== 'string' || key === '') return undefined;
  return { key, deadLetters: body?.dead_letters === true };
}

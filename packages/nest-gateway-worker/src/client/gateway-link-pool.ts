import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { connect } from 'node:net';
import type { HostPort } from '../config/environment';
import { ReconnectBackoff } from '../link/reconnect-backoff';
import { Cmd } from '../protocol/command';
import { encodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import { DEFAULT_MAX_FRAME_SIZE, FrameDecoder } from '../protocol/frame-decoder';
import { encodeRequest, type GatewayRequest } from '../protocol/gateway-request';
import { InnerLink } from '../protocol/inner-link';
import { GatewayDirectory, type GatewayListSource } from './gateway-directory';
import { GatewayUnavailableError } from './gateway-errors';
import type { GatewayHello } from './gateway-hello';
import type { QueryTimings } from '../ops/metrics/query-timings';
import type { LinkWire } from './link-wire';
import { RequestTracker } from './request-tracker';

export interface GatewayLinkPoolOptions {
  /** Registers to learn gateways from. */
  registers: HostPort[];
  /** Other sources of gateway lists (the backplane's discovery): the pool links the union of all lists. */
  sources?: GatewayListSource[];
  /** Shared secret of the inner links; null = plaintext. */
  secret: Buffer | null;
  /** Who the links say they are (a worker or an SDK client): see workerHello / sdkClientHello. */
  hello: GatewayHello;
  /**
   * Ceiling of the first delay before reconnecting to a gateway that is still listed, in milliseconds; later ones
   * back off (see ReconnectBackoff). Default 1 000.
   */
  reconnectDelayMs?: number;
  /** Largest inner frame accepted from a gateway, in bytes. Default 10 MiB. */
  maxFrameSize?: number;
  /**
   * Whether the pool keeps the Node process alive from start() to stop(), also while no socket is open (the
   * register and every gateway unreachable: only reconnect timers pending, which are unref'd). True for a worker,
   * whose links are its reason to live: without it a worker with no HTTP server would end with status 0 during an
   * outage, which a service manager reads as a clean stop and does not restart. False (the default) for a
   * standalone GatewayClient: the app's own server or schedule keeps it alive, and a script ends after
   * app.close().
   */
  keepProcessAlive?: boolean;
  /** Another wire than the native one (WIRE_PROFILE=php): translates commands, requests and events at this edge. */
  wire?: LinkWire;
}

/** Period of the keep-alive timer: as long as Node allows (about 24.8 days); it only holds the event loop. */
const KEEP_ALIVE_PERIOD_MS = 2 ** 31 - 1;

export interface GatewayLinkPoolEvents {
  /**
   * Every frame from a gateway but replies (those settle requests): client events, WorkerDrained, pings. With the
   * link it came on: a worker acknowledges an event on that link, never on a newer link to the same gateway
   * (sequence numbers are per link). An SDK client's pool has no listener: its gateways send it only replies.
   */
  frame: [frame: GatewayFrame, address: string, link: InnerLink<GatewayFrame>];
  /** A link to the gateway opened ('up'), or a link that had opened closed ('down'). */
  gateway: [address: string, state: 'up' | 'down'];
}

interface OpenWaiter {
  /** The open link, or null when the gateway left the register's list meanwhile (its clients are offline). */
  resolve: (link: InnerLink<GatewayFrame> | null) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * What {@link GatewayLinkPool.request} resolves with when the gateway is not registered and no link to it is open:
 * there is nobody to ask, so its clients are offline (a stored client_id of a gateway that was restarted or
 * removed). Nothing was sent.
 */
export const NOT_REGISTERED: unique symbol = Symbol('gateway not registered');

/**
 * Who to tell when a fire-and-forget command is lost with its link: it was queued on the link, and the link
 * closed before the bytes left this process (see InnerLink.send). Called at most once per command and gateway.
 */
export interface UnsentReport {
  commandNotSent(gatewayAddress: string, reason: string): void;
}

/**
 * One link to every gateway the registers list (the full mesh of GatewayWorker), for a worker or a standalone
 * GatewayClient; which one is only the {@link GatewayHello} passed in. A link that drops is reopened while its
 * gateway is still listed, after a jittered, growing delay (ReconnectBackoff; reset when a link opens); links to
 * gateways that leave the list are kept until they close (the gateway may only have lost its register). Requests
 * (R/R commands) are multiplexed on the links with request ids (RequestTracker), each with its own timeout.
 *
 * A gateway that is not in the list (after the first list arrived) and has no link is "not registered":
 * {@link deliver} and {@link request} send nothing and say so (false / {@link NOT_REGISTERED}) instead of failing,
 * so that a stored client_id of a gateway that went away reads as an offline client. A gateway that is listed but
 * whose link is down or connecting is waited for (within the timeout), then GatewayUnavailableError.
 */
export class GatewayLinkPool extends EventEmitter<GatewayLinkPoolEvents> {
  private readonly logger: Logger;
  /** The gateways the registers list now. */
  readonly directory: GatewayDirectory;
  private readonly requests = new RequestTracker();
  private readonly links = new Map<string, InnerLink<GatewayFrame>>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  /** Gateways whose link failed since it last opened: the delays of the next attempts. */
  private readonly backoffs = new Map<string, ReconnectBackoff>();
  /** The gateway list as last seen (to tell a gateway listed again from one still listed). */
  private listed: ReadonlySet<string> = new Set();
  /** Callers waiting for a link to a gateway to open. */
  private readonly waiters = new Map<string, Set<OpenWaiter>>();
  private stopped = true;
  /** Holds the process while started, with {@link GatewayLinkPoolOptions.keepProcessAlive}. */
  private keepAlive: NodeJS.Timeout | null = null;

  constructor(private readonly options: GatewayLinkPoolOptions) {
    super();
    this.logger = new Logger(options.hello.logContext);
    this.directory = new GatewayDirectory({
      registers: options.registers,
      sources: options.sources,
      secret: options.secret,
      logContext: options.hello.logContext,
      phpSecretKey: options.wire?.registerSecretKey,
    });
    this.directory.on('list', (listed) => this.listChanged(listed));
  }

  /** The key the links identify with (a worker's key: "name:pid-n"). */
  get key(): string {
    return this.options.hello.key;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    // The reconnect timers are unref'd (a link that is retried must not by itself hold a process that is done):
    // whether the process lives on through an outage is decided here, once.
    if (this.options.keepProcessAlive) this.keepAlive = setInterval(() => undefined, KEEP_ALIVE_PERIOD_MS);
    this.directory.start();
  }

  stop(): void {
    this.stopped = true;
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
    this.directory.stop();
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
    this.backoffs.clear();
    for (const address of [...this.waiters.keys()]) this.rejectWaiters(address, 'client stopped');
    for (const link of this.links.values()) link.end();
    this.options.wire?.stop();
  }

  /**
   * The gateways currently listed by the registers. Before the first list arrives it waits for it, at most
   * `timeoutMs`, then rejects with RegisterUnavailableError.
   */
  gateways(timeoutMs: number): Promise<string[]> {
    return this.directory.gateways(timeoutMs);
  }

  /** Measures its requests' durations from now on (the admin listener's metrics). */
  measureRequests(timings: QueryTimings): void {
    this.requests.timings = timings;
  }

  /** Requests waiting for their reply now. */
  get pendingRequests(): number {
    return this.requests.size;
  }

  /** Gateways whose link is open now. */
  openAddresses(): string[] {
    const out: string[] = [];
    for (const [address, link] of this.links) if (link.isOpen) out.push(address);
    return out;
  }

  /** Bytes sent to a gateway that have not left this process yet (0 without a link): a backlog, for monitoring. */
  pendingBytes(address: string): number {
    return this.links.get(address)?.pendingBytes ?? 0;
  }

  /** Sends encoded frame bytes to one gateway if its link is open now; false otherwise (nothing reported). */
  send(address: string, bytes: Buffer): boolean {
    const link = this.links.get(address);
    if (link === undefined || !link.isOpen) return false;
    const out = this.translated(bytes, address, link);
    return out === null || link.send(out);
  }

  /**
   * The open link to a gateway as a place to encode frames in (InnerLink.reserve/commit), when frames go out as they
   * are encoded (the native wire); null otherwise: use {@link send}.
   */
  batchFor(address: string): InnerLink<GatewayFrame> | null {
    if (this.options.wire) return null;
    const link = this.links.get(address);
    return link !== undefined && link.isOpen ? link : null;
  }

  /** The bytes to write for a native frame: itself, or the other wire's form (null: nothing to write). */
  private translated(bytes: Buffer, address: string, link: InnerLink<GatewayFrame>): Buffer | null {
    const wire = this.options.wire;
    if (!wire) return bytes;
    return wire.outgoing(bytes, address, (f) => setImmediate(() => this.emit('frame', f, address, link)));
  }

  /**
   * Sends frame bytes to one gateway, waiting (at most `timeoutMs`) for its link to open if it is connecting.
   * Resolves true once the bytes are queued on the link, false when the gateway is not registered (nothing sent);
   * rejects with GatewayUnavailableError when it is listed but not reachable in time. If the link then closes
   * before the bytes left this process, `unsent.commandNotSent` is called (never a second attempt).
   */
  async deliver(address: string, bytes: Buffer, timeoutMs: number, unsent?: UnsentReport): Promise<boolean> {
    const link = await this.whenOpen(address, Date.now() + timeoutMs);
    if (!link) return false;
    const out = this.translated(bytes, address, link);
    if (out !== null && !link.send(out, unsent)) throw new GatewayUnavailableError(address, 'link closed');
    return true;
  }

  /**
   * Sends a request command to one gateway and resolves with the result of its Reply, or with
   * {@link NOT_REGISTERED} when the gateway is not registered (nothing sent). The whole exchange (link, request,
   * reply) is bounded by `timeoutMs`; GatewayTimeoutError / GatewayUnavailableError otherwise, GatewayRequestError
   * when the gateway refused the parameters. `fields` may carry a body and flag (a confirmed send).
   */
  async request(
    address: string,
    fields: Partial<GatewayFrame> & { cmd: Cmd },
    params: GatewayRequest,
    timeoutMs: number,
  ): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    const link = await this.whenOpen(address, deadline);
    if (!link) return NOT_REGISTERED;
    if (this.options.wire)
      return this.options.wire.request(address, fields, params, Math.max(1, deadline - Date.now()));
    const rid = this.requests.nextId();
    const reply = this.requests.wait(rid, address, Math.max(1, deadline - Date.now()), timeoutMs);
    if (!link.send(encodeFrame(frame({ ...fields, ext: encodeRequest({ ...params, rid }) })))) {
      this.requests.fail(rid, new GatewayUnavailableError(address, 'link closed'));
    }
    return reply;
  }

  /**
   * The open link to `address`, waiting until `deadline` (epoch ms) for one that is (re)connecting; null when the
   * gateway is not registered and has no link (now, or once it leaves the list while we wait). Before the first
   * list arrived it waits for it: a live client must not read as offline because the list is not here yet.
   */
  private async whenOpen(address: string, deadline: number): Promise<InnerLink<GatewayFrame> | null> {
    const current = this.links.get(address);
    if (current?.isOpen) return current;
    if (!this.directory.listReceived) await this.directory.gateways(Math.max(1, deadline - Date.now()));
    const timeoutMs = Math.max(1, deadline - Date.now());
    const link = this.links.get(address);
    if (link?.isOpen) return link;
    if (!link && !this.directory.has(address)) return null;
    return new Promise((resolve, reject) => {
      let set = this.waiters.get(address);
      if (!set) this.waiters.set(address, (set = new Set()));
      const waiters = set;
      const waiter: OpenWaiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          waiters.delete(waiter);
          reject(new GatewayUnavailableError(address, `no link within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      waiters.add(waiter);
    });
  }

  /** The gateway left the list while callers waited for its link: they get null (its clients are offline). */
  private releaseUnregistered(address: string): void {
    const set = this.waiters.get(address);
    if (!set) return;
    this.waiters.delete(address);
    for (const w of set) {
      clearTimeout(w.timer);
      w.resolve(null);
    }
  }

  private rejectWaiters(address: string, reason: string): void {
    const set = this.waiters.get(address);
    if (!set) return;
    this.waiters.delete(address);
    for (const w of set) {
      clearTimeout(w.timer);
      w.reject(new GatewayUnavailableError(address, reason));
    }
  }

  /**
   * A new gateway list: link the gateways that have no link; release waiters of the gone. A gateway still listed
   * keeps its pending retry (its backoff); one listed again after it left the list (it restarted and re-registered)
   * is linked at once instead of waiting out a retry timer that may be 30 s away.
   */
  private listChanged(listed: ReadonlySet<string>): void {
    const before = this.listed;
    this.listed = new Set(listed);
    for (const address of listed) {
      if (this.links.has(address)) continue;
      const retry = this.retries.get(address);
      if (retry !== undefined) {
        if (before.has(address)) continue;
        clearTimeout(retry);
      }
      this.connect(address);
    }
    for (const address of [...this.waiters.keys()]) {
      if (!listed.has(address) && !this.links.has(address)) this.releaseUnregistered(address);
    }
  }

  private connect(address: string): void {
    this.retries.delete(address);
    if (this.stopped || !this.directory.has(address)) {
      this.backoffs.delete(address);
      return;
    }
    const colon = address.lastIndexOf(':');
    const socket = connect(Number(address.slice(colon + 1)), address.slice(0, colon));
    const link = new InnerLink<GatewayFrame>(socket, {
      secret: this.options.secret,
      role: 'initiator',
      decoder: new FrameDecoder(this.options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE),
      label: `gateway ${address}`,
      logger: this.logger,
    });
    this.links.set(address, link);
    // The first frame of a link says who we are; it leaves as soon as the handshake completes.
    link.send(this.options.hello.frame);
    let wasOpen = false;
    link.on('open', () => {
      wasOpen = true;
      this.backoffs.delete(address);
      this.logger.log(`${this.options.hello.connectedMessage} ${address}`);
      this.emit('gateway', address, 'up');
      const set = this.waiters.get(address);
      this.waiters.delete(address);
      for (const w of set ?? []) {
        clearTimeout(w.timer);
        w.resolve(link);
      }
    });
    // Fire-and-forget commands that were queued on this link but never left this process: tell their senders.
    link.on('unsent', (reports: unknown[], reason: string) => {
      const why = `link closed before the command left this process${reason ? ` (${reason})` : ''}`;
      for (const r of reports) (r as UnsentReport).commandNotSent(address, why);
    });
    const wire = this.options.wire;
    const emit = (f: GatewayFrame): void => {
      this.emit('frame', f, address, link);
    };
    link.on('message', (f: GatewayFrame) => {
      if (wire) wire.incoming(f, address, emit);
      else if (f.cmd === Cmd.Reply) this.requests.settle(f, address);
      else emit(f);
    });
    link.on('close', (reason: string) => {
      if (this.links.get(address) !== link) return;
      this.links.delete(address);
      this.requests.failAll(address, `link closed${reason ? ` (${reason})` : ''}`);
      this.options.wire?.gatewayDown(address);
      if (this.stopped) return;
      if (wasOpen) this.emit('gateway', address, 'down');
      if (this.directory.has(address)) this.retryLater(address, wasOpen ? reason : null);
      else {
        this.backoffs.delete(address);
        this.logger.log(`gateway ${address} left`);
        this.releaseUnregistered(address);
      }
    });
  }

  /** Schedules the next attempt to link a listed gateway; `reason` (an open link closed) is logged once per outage. */
  private retryLater(address: string, reason: string | null): void {
    let backoff = this.backoffs.get(address);
    if (!backoff)
      this.backoffs.set(address, (backoff = new ReconnectBackoff({ firstDelayMs: this.options.reconnectDelayMs })));
    const delayMs = backoff.nextDelayMs();
    // One line per outage, not one per retry.
    if (reason !== null) {
      this.logger.warn(
        `link to gateway ${address} closed${reason ? ` (${reason})` : ''}; reconnecting in ${delayMs} ms, ${backoff.describe()}`,
      );
    }
    const timer = setTimeout(() => this.connect(address), delayMs);
    timer.unref();
    this.retries.set(address, timer);
  }
}

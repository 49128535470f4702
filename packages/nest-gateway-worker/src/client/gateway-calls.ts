import { Logger } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import { RateLimitedWarning } from '../logging/rate-limited-warning';
import { decodeClientId, gatewayAddress } from '../protocol/client-id';
import type { Cmd } from '../protocol/command';
import { encodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import { encodeRequest, type GatewayRequest } from '../protocol/gateway-request';
import type { DeliveryReceipt } from './delivery-receipt';
import { CommandNotSentError, GatewayPartialFailureError, type GatewayFailure } from './gateway-errors';
import type { HistoryStore } from '../backplane/history-store';
import type { BackplaneStatusSource } from './backplane-status';
import { FULL_MESH, type GatewayTargeting } from './gateway-targeting';
import { NOT_REGISTERED, type GatewayLinkPool, type UnsentReport } from './gateway-link-pool';

/** Behaviour settings of a GatewayClient (see GatewayClientModuleOptions for the defaults). */
export interface GatewayClientSettings {
  /** Per-gateway time limit of a command or query, in milliseconds. */
  timeoutMs: number;
  /** Reject a multi-gateway call when any gateway fails, instead of returning the others' results. */
  rejectOnGatewayFailure: boolean;
  /** Which gateways calls about uids and groups reach (the backplane's directory). Default: all (FULL_MESH). */
  targeting?: GatewayTargeting;
  /** Message history (the backplane's HistoryStore); undefined without a backplane. */
  history?: HistoryStore;
  /** The backplane, for GatewayClient.getBackplaneStatus; undefined without one. */
  backplane?: BackplaneStatusSource;
}

/**
 * How a GatewayClient method reaches the gateways, so that GatewayClient reads as the API alone: one gateway (by
 * client_id) or all of them, fire-and-forget or request/reply, each gateway within `timeoutMs`; the failures of
 * multi-gateway calls and of commands lost with their link are reported on {@link failures} and in a rate-limited
 * log line. Every call goes through the pool's links.
 */
export class GatewayCalls {
  // Named after the API: these lines are what a GatewayClient user sees in the log.
  private readonly logger = new Logger('GatewayClient');
  private readonly failureSubject = new Subject<GatewayFailure>();
  private readonly warnings = new Map<string, RateLimitedWarning>();
  /** See GatewayClient.failures. */
  readonly failures: Observable<GatewayFailure> = this.failureSubject.asObservable();
  /** See GatewayClientSettings.targeting. */
  readonly targeting: GatewayTargeting;
  /** See GatewayClientSettings.history. */
  readonly history: HistoryStore | undefined;

  constructor(
    private readonly links: GatewayLinkPool,
    private readonly settings: GatewayClientSettings,
  ) {
    this.targeting = settings.targeting ?? FULL_MESH;
    this.history = settings.history;
  }

  /**
   * Every gateway a multi-gateway call reaches (waiting for the first list within the timeout): the listed ones,
   * and with a backplane also the linked ones it cannot see (GatewayTargeting.universe).
   */
  async gateways(): Promise<string[]> {
    return this.targeting.universe(await this.links.gateways(this.settings.timeoutMs), this.links.openAddresses());
  }

  /** The gateways that may hold any of `uids` (every listed one without a directory). */
  async uidGateways(uids: readonly string[]): Promise<string[]> {
    return this.targeting.forUids(uids, await this.gateways());
  }

  /** The gateways that may hold members of any of `groups` (every listed one without a directory). */
  async groupGateways(groups: readonly string[]): Promise<string[]> {
    return this.targeting.forGroups(groups, await this.gateways());
  }

  /**
   * A fire-and-forget command to the gateway that holds the client. Resolves true once queued on its link, false
   * when that gateway is not registered (the client is offline; nothing sent). A command the link loses before
   * it left this process is reported on `failures`.
   */
  async command(operation: string, clientId: string, fields: Partial<GatewayFrame> & { cmd: Cmd }): Promise<boolean> {
    const target = decodeClientId(clientId);
    const bytes = encodeFrame(frame({ ...fields, connectionId: target.connectionId }));
    return this.links.deliver(
      gatewayAddress(target),
      bytes,
      this.settings.timeoutMs,
      new LostCommand(this.commandNotSent, operation, clientId),
    );
  }

  /** A confirmed command to the gateway that holds the client: its receipt; an offline client's is 0. */
  async confirmedCommand(
    clientId: string,
    fields: Partial<GatewayFrame> & { cmd: Cmd },
    params: GatewayRequest,
  ): Promise<DeliveryReceipt> {
    const target = decodeClientId(clientId);
    const result = await this.links.request(
      gatewayAddress(target),
      { ...fields, connectionId: target.connectionId },
      params,
      this.settings.timeoutMs,
    );
    return { delivered: result === NOT_REGISTERED ? 0 : deliveredCount(result), failedGateways: [] };
  }

  /**
   * A request to the gateway that holds the client; `offline` when that gateway is not registered (a stored id
   * of a gateway that went away: the client cannot be online).
   */
  async request(clientId: string, cmd: Cmd, params: GatewayRequest, offline: unknown): Promise<unknown> {
    const target = decodeClientId(clientId);
    const result = await this.links.request(
      gatewayAddress(target),
      { cmd, connectionId: target.connectionId },
      params,
      this.settings.timeoutMs,
    );
    return result === NOT_REGISTERED ? offline : result;
  }

  /** The bytes of a command frame with a message and its parameters. */
  frameBytes(cmd: Cmd, message: { flag: number; body: Buffer }, params: GatewayRequest): Buffer {
    return encodeFrame(frame({ cmd, ...message, ext: encodeRequest(params) }));
  }

  /** Writes a command to each gateway concurrently; failures are reported, the rest still delivered. */
  async fanOut(operation: string, addresses: string[], bytesFor: (address: string) => Buffer): Promise<void> {
    const lost = new LostCommand(this.commandNotSent, operation);
    const outcomes = await Promise.allSettled(
      addresses.map((address) => this.links.deliver(address, bytesFor(address), this.settings.timeoutMs, lost)),
    );
    this.report(operation, addresses, outcomes);
  }

  /** A confirmed command to each gateway concurrently: the connections reached, and the gateways that did not confirm. */
  async confirmedFanOut(
    operation: string,
    addresses: string[],
    fields: Partial<GatewayFrame> & { cmd: Cmd },
    paramsFor: (address: string) => GatewayRequest,
  ): Promise<DeliveryReceipt> {
    const outcomes = await Promise.allSettled(
      addresses.map((address) => this.links.request(address, fields, paramsFor(address), this.settings.timeoutMs)),
    );
    const failedGateways = this.report(operation, addresses, outcomes);
    let delivered = 0;
    for (const o of outcomes)
      if (o.status === 'fulfilled' && o.value !== NOT_REGISTERED) delivered += deliveredCount(o.value);
    return { delivered, failedGateways };
  }

  /**
   * Asks every gateway (or those in `to`) concurrently; resolves with the answers of those that answered in time.
   */
  async query<T>(operation: string, cmd: Cmd, params: GatewayRequest, to?: string[] | Promise<string[]>): Promise<T[]> {
    const addresses = to ? await to : await this.gateways();
    const outcomes = await Promise.allSettled(
      addresses.map((address) => this.links.request(address, { cmd }, params, this.settings.timeoutMs)),
    );
    this.report(operation, addresses, outcomes);
    // A gateway that left the list during the call has no clients to report.
    return outcomes.flatMap((o) => (o.status === 'fulfilled' && o.value !== NOT_REGISTERED ? [o.value as T] : []));
  }

  /** A fire-and-forget command lost with its link (it never left this process): reported, never retried. */
  private readonly commandNotSent: LostCommandSink = (operation, gatewayAddress, reason, clientId) => {
    const failure: GatewayFailure = {
      operation,
      gatewayAddress,
      error: new CommandNotSentError(gatewayAddress, reason),
    };
    if (clientId !== undefined) failure.clientId = clientId;
    this.failureSubject.next(failure);
    this.warnFailure(failure);
  };

  /** Reports the gateways that failed (failures, log); rejects when `rejectOnGatewayFailure`; returns them. */
  private report(operation: string, addresses: string[], outcomes: PromiseSettledResult<unknown>[]): GatewayFailure[] {
    const failures: GatewayFailure[] = [];
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') return;
      const failure = { operation, gatewayAddress: addresses[i], error: o.reason as Error };
      failures.push(failure);
      this.failureSubject.next(failure);
      this.warnFailure(failure);
    });
    if (failures.length > 0 && this.settings.rejectOnGatewayFailure)
      throw new GatewayPartialFailureError(operation, failures);
    return failures;
  }

  /** One log line per gateway every 10 s at most: a dead gateway under load must not flood the log. */
  private warnFailure(f: GatewayFailure): void {
    let warning = this.warnings.get(f.gatewayAddress);
    if (!warning)
      this.warnings.set(
        f.gatewayAddress,
        (warning = new RateLimitedWarning(
          this.logger,
          (n) => `${n} more failure(s) of this gateway since the last warning`,
        )),
      );
    warning.warn(`${f.operation}: gateway ${f.gatewayAddress} skipped: ${f.error.message}`);
  }
}

/**
 * The report of one fire-and-forget command (or one fan-out: the same report for each gateway), kept by the link
 * until the bytes left this process.
 */
class LostCommand implements UnsentReport {
  constructor(
    private readonly sink: LostCommandSink,
    private readonly operation: string,
    private readonly clientId?: string,
  ) {}

  commandNotSent(gatewayAddress: string, reason: string): void {
    this.sink(this.operation, gatewayAddress, reason, this.clientId);
  }
}

type LostCommandSink = (operation: string, gatewayAddress: string, reason: string, clientId?: string) => void;

/** The count a gateway answers a confirmed command with. */
function deliveredCount(result: unknown): number {
  return typeof result === 'number' && Number.isInteger(result) && result >= 0 ? result : 0;
}

import { EventEmitter } from 'node:events';
import type { HostPort } from '../config/environment';
import { RegisterClient, type RegisterStatus } from '../register/register-client';
import { RegisterUnavailableError } from './gateway-errors';

/**
 * Another source of gateway lists besides the registers (the Redis backplane's discovery): started and stopped
 * with the directory, it emits `addresses` (string[], "lanIp:port") with every list it has.
 */
export interface GatewayListSource {
  /** Named in RegisterUnavailableError when no list came in time, e.g. "backplane redis://host:6379". */
  readonly name: string;
  start(): void;
  stop(): void;
  on(event: 'addresses', listener: (addresses: string[]) => void): unknown;
}

export interface GatewayDirectoryOptions {
  /** Registers to learn gateways from (the union of their lists is used); may be empty with another source. */
  registers: HostPort[];
  /** Other sources (the backplane's discovery); the directory lists the union of every source's latest list. */
  sources?: GatewayListSource[];
  /** Shared secret of the register links; null = plaintext. */
  secret: Buffer | null;
  /** Logger context of the register client ("Worker", "GatewayClient"). */
  logContext: string;
  /** The php wire profile: PHP's secret_key for the register hellos (undefined: none sent). */
  phpSecretKey?: string;
}

export interface GatewayDirectoryEvents {
  /** The registers pushed a gateway list (the first one, or a change): the gateways listed now. */
  list: [listed: ReadonlySet<string>];
}

/**
 * The gateways the registers (and the backplane, when configured: the union of both) list now, for workers and
 * standalone GatewayClients: a subscription to every register (RegisterClient), kept current by their pushes. Until the first list arrives nothing is known, which
 * is not the same as an empty list: {@link gateways} waits for it, so that a live client is never called offline
 * during start-up, and rejects with RegisterUnavailableError when no register answers in time.
 */
export class GatewayDirectory extends EventEmitter<GatewayDirectoryEvents> {
  private listed: ReadonlySet<string> = new Set();
  private received = false;
  private register: RegisterClient | null = null;
  private started = false;
  /** The latest list of each source (the registers' union under "register"). */
  private readonly latest = new Map<string, string[]>();

  constructor(private readonly options: GatewayDirectoryOptions) {
    super();
  }

  /** Whether a first list arrived (then {@link has} is an answer, not a guess). */
  get listReceived(): boolean {
    return this.received;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.options.registers.length > 0) {
      this.register = new RegisterClient({
        registers: this.options.registers,
        secret: this.options.secret,
        subscribe: true,
        logContext: this.options.logContext,
        ...(this.options.phpSecretKey === undefined ? {} : { phpSecretKey: this.options.phpSecretKey }),
      });
      this.register.on('addresses', (addresses: string[]) => this.update('register', addresses));
      this.register.start();
    }
    for (const source of this.options.sources ?? []) {
      source.on('addresses', (addresses) => this.update(source.name, addresses));
      source.start();
    }
  }

  stop(): void {
    this.started = false;
    this.register?.stop();
    this.register = null;
    for (const source of this.options.sources ?? []) source.stop();
  }

  /** The gateways listed now ([] before the first list: see {@link listReceived}). */
  listedAddresses(): string[] {
    return [...this.listed];
  }

  /** Every register: whether the link to it is open now and what it listed last (all down before start()). */
  registers(): RegisterStatus[] {
    return (
      this.register?.status() ??
      this.options.registers.map((r) => ({ address: `${r.host}:${r.port}`, connected: false, gateways: null }))
    );
  }

  /** Whether the registers list `address` now (false before the first list). */
  has(address: string): boolean {
    return this.listed.has(address);
  }

  /**
   * The gateways listed now. Before the first list arrives it waits for it, at most `timeoutMs`, then rejects with
   * RegisterUnavailableError naming the registers.
   */
  async gateways(timeoutMs: number): Promise<string[]> {
    if (this.received) return [...this.listed];
    if (!this.started) throw new Error('gateway links are not started');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('list', onList);
        reject(
          new RegisterUnavailableError(
            [
              ...this.options.registers.map((r) => `${r.host}:${r.port}`),
              ...(this.options.sources ?? []).map((s) => s.name),
            ],
            timeoutMs,
          ),
        );
      }, timeoutMs);
      const onList = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.once('list', onList);
    });
    return [...this.listed];
  }

  /** The latest list of one source (a GatewayListSource by its name, or "register"), null before its first. */
  sourceList(source: string): string[] | null {
    return this.latest.get(source) ?? null;
  }

  private update(source: string, addresses: string[]): void {
    this.latest.set(source, addresses);
    const union = new Set<string>();
    for (const list of this.latest.values()) for (const address of list) union.add(address);
    if (this.received && union.size === this.listed.size && [...union].every((a) => this.listed.has(a))) return;
    this.listed = union;
    this.received = true;
    this.emit('list', this.listed);
  }
}

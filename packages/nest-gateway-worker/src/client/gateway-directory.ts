import { EventEmitter } from 'node:events';
import type { HostPort } from '../config/environment';
import { RegisterClient, type RegisterStatus } from '../register/register-client';
import { RegisterUnavailableError } from './gateway-errors';

export interface GatewayDirectoryOptions {
  /** Registers to learn gateways from (the union of their lists is used). */
  registers: HostPort[];
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
 * The gateways the registers list now, for workers and standalone GatewayClients: a subscription to every
 * register (RegisterClient), kept current by their pushes. Until the first list arrives nothing is known, which
 * is not the same as an empty list: {@link gateways} waits for it, so that a live client is never called offline
 * during start-up, and rejects with RegisterUnavailableError when no register answers in time.
 */
export class GatewayDirectory extends EventEmitter<GatewayDirectoryEvents> {
  private listed: ReadonlySet<string> = new Set();
  private received = false;
  private register: RegisterClient | null = null;

  constructor(private readonly options: GatewayDirectoryOptions) {
    super();
  }

  /** Whether a first list arrived (then {@link has} is an answer, not a guess). */
  get listReceived(): boolean {
    return this.received;
  }

  start(): void {
    if (this.register) return;
    this.register = new RegisterClient({
      registers: this.options.registers,
      secret: this.options.secret,
      subscribe: true,
      logContext: this.options.logContext,
      ...(this.options.phpSecretKey === undefined ? {} : { phpSecretKey: this.options.phpSecretKey }),
    });
    this.register.on('addresses', (addresses: string[]) => this.update(addresses));
    this.register.start();
  }

  stop(): void {
    this.register?.stop();
    this.register = null;
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
    if (!this.register) throw new Error('gateway links are not started');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('list', onList);
        reject(
          new RegisterUnavailableError(
            this.options.registers.map((r) => `${r.host}:${r.port}`),
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

  private update(addresses: string[]): void {
    this.listed = new Set(addresses);
    this.received = true;
    this.emit('list', this.listed);
  }
}

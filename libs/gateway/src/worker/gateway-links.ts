import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { connect } from 'node:net';
import { Cmd } from '../protocol/command';
import { encodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import { DEFAULT_MAX_FRAME_SIZE, FrameDecoder } from '../protocol/frame-decoder';
import { InnerLink } from '../protocol/inner-link';
import { RegisterClient } from '../register/register-client';
import type { WorkerOptions } from './worker-options';

let instances = 0;

/**
 * A worker's links to every gateway (the full mesh of GatewayWorker). The gateway list comes from the
 * register; a link that drops is reopened while its gateway is still listed. Links to gateways that leave
 * the list are kept until they close (the gateway may only have lost its register).
 *
 * Events: `frame` (GatewayFrame, gateway address), `gateway` (address, 'up' | 'down').
 */
export class GatewayLinks extends EventEmitter {
  private readonly logger = new Logger('Worker');
  private readonly links = new Map<string, InnerLink<GatewayFrame>>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private listed = new Set<string>();
  private register: RegisterClient | null = null;
  private stopped = true;
  /** Unique per process and per transport instance; a gateway replaces an older link with the same key. */
  readonly workerKey: string;

  constructor(private readonly options: WorkerOptions) {
    super();
    this.workerKey = `${options.name}:${process.pid}-${++instances}`;
  }

  start(): void {
    this.stopped = false;
    this.register = new RegisterClient({
      registers: this.options.registers,
      secret: this.options.secret,
      subscribe: true,
      logContext: 'Worker',
    });
    this.register.on('addresses', (addresses: string[]) => this.update(addresses));
    this.register.start();
  }

  stop(): void {
    this.stopped = true;
    this.register?.stop();
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
    for (const link of this.links.values()) link.end();
  }

  /** Sends encoded frame bytes to one gateway; false when no link to it is open. */
  send(address: string, bytes: Buffer): boolean {
    const link = this.links.get(address);
    return link !== undefined && link.isOpen && link.send(bytes);
  }

  private update(addresses: string[]): void {
    this.listed = new Set(addresses);
    for (const address of addresses) {
      if (!this.links.has(address) && !this.retries.has(address)) this.connect(address);
    }
  }

  private connect(address: string): void {
    this.retries.delete(address);
    if (this.stopped || !this.listed.has(address)) return;
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
    const socket = connect(port, host);
    const link = new InnerLink<GatewayFrame>(socket, {
      secret: this.options.secret,
      role: 'initiator',
      decoder: new FrameDecoder(this.options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE),
      label: `gateway ${address}`,
      logger: this.logger,
    });
    this.links.set(address, link);
    // The first frame of a worker link says who we are; it leaves as soon as the handshake completes.
    link.send(
      encodeFrame(frame({ cmd: Cmd.WorkerConnect, body: Buffer.from(JSON.stringify({ worker_key: this.workerKey })) })),
    );
    link.on('open', () => {
      this.logger.log(`Worker connected to gateway ${address}`);
      this.emit('gateway', address, 'up');
    });
    link.on('message', (f: GatewayFrame) => this.emit('frame', f, address));
    let wasOpen = false;
    link.once('open', () => (wasOpen = true));
    link.on('close', (reason: string) => {
      if (this.links.get(address) !== link) return;
      this.links.delete(address);
      if (this.stopped) return;
      if (wasOpen) this.emit('gateway', address, 'down');
      if (this.listed.has(address)) {
        // One line per outage, not one per retry.
        if (wasOpen) this.logger.warn(`link to gateway ${address} closed${reason ? ` (${reason})` : ''}; reconnecting`);
        const timer = setTimeout(() => this.connect(address), this.options.reconnectDelayMs ?? 1_000);
        timer.unref();
        this.retries.set(address, timer);
      } else {
        this.logger.log(`gateway ${address} left`);
      }
    });
  }
}

import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { connect } from 'node:net';
import type { HostPort } from '../config/environment';
import { ReconnectBackoff } from '../link/reconnect-backoff';
import { InnerLink } from '../protocol/inner-link';
import {
  LineDecoder,
  encodeRegisterMessage,
  parseRegisterMessage,
  type RegisterMessage,
} from '../protocol/register-message';

export interface RegisterClientOptions {
  /** Every register to use (REGISTER_ADDRESS). The client keeps a link to each of them. */
  registers: HostPort[];
  /** Shared secret; null = plaintext. */
  secret: Buffer | null;
  /** Gateways: the inner address ("lanIp:port") to announce. */
  announce?: string;
  /** Workers and SDK clients: subscribe to the gateway list ('addresses' events). */
  subscribe?: boolean;
  /**
   * Ceiling of the first delay before reconnecting to a register, in milliseconds; later ones back off (see
   * ReconnectBackoff). Default 1 000.
   */
  reconnectDelayMs?: number;
  /** Keep-alive period, in milliseconds. Default 25 000. */
  pingIntervalMs?: number;
  /**
   * The php wire profile: PHP's clear-text secret_key, sent in this client's hellos (PHP registers check it; ours
   * with the php profile too). Undefined (the native profile): no secret_key field.
   */
  phpSecretKey?: string;
  /** Logger context. Default "RegisterClient". */
  logContext?: string;
}

/** One register as a discovery client sees it (GatewayClient.getRegisterStatus). */
export interface RegisterStatus {
  /** "host:port", as configured (REGISTER_ADDRESS). */
  address: string;
  /** Whether the link to it is open now (connected and authenticated). */
  connected: boolean;
  /**
   * The gateways it listed last (sorted), kept while it is unreachable; null before its first list, and always for
   * a gateway's own register client (it announces, it does not subscribe).
   */
  gateways: string[] | null;
}

interface RegisterPeer {
  name: string;
  address: HostPort;
  link: InnerLink<string> | null;
  /** The last list this register sent; kept while it is unreachable (running traffic must not stop). */
  addresses: string[] | null;
  retry: NodeJS.Timeout | null;
  /** Delays between attempts while this register is unreachable; reset when a link to it opens. */
  backoff: ReconnectBackoff;
  /** Whether the current outage was already logged (one line per outage, not one per retry). */
  outageLogged: boolean;
}

/**
 * The discovery client used by gateways (to announce themselves), workers and SDK clients (to learn the
 * gateway list). It talks to every listed register independently and reconnects forever, after a jittered,
 * growing delay (ReconnectBackoff); the gateway list it reports is the union of the registers' latest lists, so
 * one register going away loses nothing.
 *
 * Events: `addresses` (string[], emitted whenever the union changes), `connected` (register name).
 */
export class RegisterClient extends EventEmitter {
  private readonly logger: Logger;
  private readonly peers: RegisterPeer[];
  private pingTimer: NodeJS.Timeout | null = null;
  private stopped = true;
  private current: string[] = [];

  constructor(private readonly options: RegisterClientOptions) {
    super();
    this.logger = new Logger(options.logContext ?? 'RegisterClient');
    this.peers = options.registers.map((address) => ({
      name: `${address.host}:${address.port}`,
      address,
      link: null,
      addresses: null,
      retry: null,
      backoff: new ReconnectBackoff({ firstDelayMs: options.reconnectDelayMs }),
      outageLogged: false,
    }));
  }

  /** Registers with an open link now (a gateway has announced itself to each of them: it does so as a link opens). */
  get connectedCount(): number {
    let n = 0;
    for (const peer of this.peers) if (peer.link?.isOpen) n++;
    return n;
  }

  /** Registers this client uses (REGISTER_ADDRESS). */
  get registerCount(): number {
    return this.peers.length;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const peer of this.peers) this.connect(peer);
    this.pingTimer = setInterval(() => {
      const ping = encodeRegisterMessage({ event: 'ping' });
      for (const peer of this.peers) if (peer.link?.isOpen) peer.link.send(ping);
    }, this.options.pingIntervalMs ?? 25_000);
    this.pingTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const peer of this.peers) {
      if (peer.retry) clearTimeout(peer.retry);
      peer.retry = null;
      peer.link?.end();
      peer.link = null;
    }
  }

  /** Every configured register: whether its link is open now and the gateways it listed last. */
  status(): RegisterStatus[] {
    return this.peers.map((peer) => ({
      address: peer.name,
      connected: peer.link?.isOpen === true,
      gateways: peer.addresses ? [...peer.addresses].sort() : null,
    }));
  }

  private connect(peer: RegisterPeer): void {
    peer.retry = null;
    if (this.stopped) return;
    const socket = connect(peer.address.port, peer.address.host);
    const link = new InnerLink<string>(socket, {
      secret: this.options.secret,
      role: 'initiator',
      decoder: new LineDecoder(),
      label: `register ${peer.name}`,
      logger: this.logger,
    });
    peer.link = link;
    link.on('open', () => {
      peer.outageLogged = false;
      peer.backoff.reset();
      this.logger.log(`connected to register ${peer.name}`);
      const key = this.options.phpSecretKey === undefined ? {} : { secret_key: this.options.phpSecretKey };
      if (this.options.announce) {
        link.send(encodeRegisterMessage({ event: 'gateway_connect', address: this.options.announce, ...key }));
      }
      if (this.options.subscribe) link.send(encodeRegisterMessage({ event: 'worker_connect', ...key }));
      this.emit('connected', peer.name);
    });
    link.on('message', (line: string) => {
      let message: RegisterMessage;
      try {
        message = parseRegisterMessage(line);
      } catch (err) {
        return link.destroy(`bad message from register: ${(err as Error).message}`);
      }
      if (message.event === 'broadcast_addresses') {
        peer.addresses = message.addresses;
        this.recompute();
      }
    });
    link.on('close', (reason: string) => {
      if (peer.link !== link) return;
      peer.link = null;
      if (this.stopped) return;
      const delayMs = peer.backoff.nextDelayMs();
      if (!peer.outageLogged) {
        // One line per outage, not one per retry.
        this.logger.warn(
          `register ${peer.name} unreachable${reason ? ` (${reason})` : ''}; retrying in ${delayMs} ms, ${peer.backoff.describe()}`,
        );
        peer.outageLogged = true;
      }
      peer.retry = setTimeout(() => this.connect(peer), delayMs);
      peer.retry.unref();
    });
  }

  private recompute(): void {
    const union = new Set<string>();
    for (const peer of this.peers) for (const a of peer.addresses ?? []) union.add(a);
    const next = [...union].sort();
    if (next.length === this.current.length && next.every((a, i) => a === this.current[i])) return;
    this.current = next;
    this.emit('addresses', next);
  }
}

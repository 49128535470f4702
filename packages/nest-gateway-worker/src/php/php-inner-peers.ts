import { Logger } from '@nestjs/common';
import type { ClientHub } from '../gateway/client-hub';
import type { WorkerChannel } from '../gateway/delivery/worker-channel';
import { RateLimitedLog } from '../logging/rate-limited-log';
import { Cmd, cmdName } from '../protocol/command';
import type { GatewayFrame } from '../protocol/frame';
import type { InnerLink } from '../protocol/inner-link';
import { PHP_COMMANDS } from './php-commands';
import { PHP_QUERIES } from './php-queries';
import { encodePhpReply } from './php-reply';
import { phpSecretKeyMatches } from './php-secret-key';
import { PHP_WORKER_WIRE } from './php-worker-wire';

/**
 * Tells a PHP GatewayWorker peer from a native one by the first frame of its inner link (one inner port serves
 * both; the php profile runs it in plaintext):
 *  - PHP's CMD_WORKER_CONNECT (200) and CMD_GATEWAY_CLIENT_CONNECT (202) always carry `secret_key` in their JSON body;
 *    ours never do (a native 200 has only `worker_key`, a native 202 an empty body);
 *  - a PHP GatewayClient without a secretKey starts with the command itself; a native peer never does.
 */
export function isPhpFirstFrame(f: GatewayFrame): boolean {
  if (f.cmd === Cmd.WorkerConnect || f.cmd === Cmd.GatewayClientConnect) return secretKeyOf(f.body) !== undefined;
  return PHP_QUERIES.has(f.cmd) || PHP_COMMANDS.has(f.cmd);
}

/** The `secret_key` of a 200/202 body (missing: undefined; PHP's json_decode of anything else gives no key). */
function secretKeyOf(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as { secret_key?: unknown }).secret_key : undefined;
  } catch {
    return undefined;
  }
}

/** What PHP peers need of the gateway. */
export interface PhpInnerPeersOptions {
  /** PHP's secretKey ('' = none: then a PHP GatewayClient may start with a command, as PHP allows). */
  phpSecretKey: string;
}

/** One identified PHP peer's link: its later frames go here. */
export interface PhpPeer {
  frame(f: GatewayFrame): void;
  /** The worker channel when the peer is a BusinessWorker (the inner listener reports its close to delivery). */
  readonly worker: WorkerChannel | null;
}

/**
 * The gateway side of the php wire profile for PHP peers on the inner port (reference/php-interop.md §2, §4, §5):
 *  - a PHP BusinessWorker (200 with worker_key and secret_key): checked as PHP checks it (strict equality with
 *    PHP_SECRET_KEY), then a worker like any other for routing (sticky, least connections, shared with Nest
 *    workers), whose events are sent in PHP's form and never wait for acks (PHP_WORKER_WIRE);
 *  - a PHP GatewayClient (202 with secret_key, or, with no PHP secret, a command as its first frame);
 *  - then their commands in PHP's encodings (PHP_COMMANDS) and their requests answered in PHP's form, in request
 *    order, on the same link (PHP_QUERIES); a 202 repeated before every request (GatewayClient does that) is
 *    checked again; anything else is ignored with a rate-limited warning, as PHP ignores an unknown command.
 * A wrong key, or a command before the 202 when a PHP secret is set, closes the link as PHP does (no reply); the
 * keys are never logged.
 */
export class PhpInnerPeers {
  private readonly logger = new Logger('Gateway');
  /** Bad or unknown commands of PHP peers, per command code, at most one line every 10 s, then a summary. */
  private readonly warnings = new RateLimitedLog(this.logger, {
    more: (n, name) => `${n} more ${name} from PHP peers since the last warning`,
    summary: (n, name, total) => `${n} more ${name} from PHP peers in the last 10 s; ${total} in all`,
  });

  constructor(
    private readonly options: PhpInnerPeersOptions,
    private readonly hub: ClientHub,
  ) {}

  /**
   * With a PHP secret, the inner port takes PHP-speaking peers only: a native plaintext hello carries no secret_key,
   * so accepting it would let anyone past the key. Nest workers and GatewayClients then run WIRE_PROFILE=php too.
   */
  get refusesNativePeers(): boolean {
    return this.options.phpSecretKey !== '';
  }

  readonly nativePeerRefusal =
    'a native peer cannot show PHP_SECRET_KEY: with it set, run every Nest worker and GatewayClient of the cluster ' +
    'with WIRE_PROFILE=php';

  /**
   * The first frame of a link that {@link isPhpFirstFrame}: the peer, or null when it was refused (the link is being
   * closed). `remoteAddress` and `peer` ("address:port") name the worker as the native path does.
   */
  accept(f: GatewayFrame, link: InnerLink<GatewayFrame>, remoteAddress: string, peer: string): PhpPeer | null {
    if (f.cmd === Cmd.WorkerConnect) {
      if (!this.authorized(f, link, 'PHP BusinessWorker')) return null;
      const key = workerKeyOf(f);
      if (key === undefined) {
        link.destroy('PHP CMD_WORKER_CONNECT without a worker_key');
        return null;
      }
      const worker = this.hub.delivery.addWorker(key, link, remoteAddress, peer, false, PHP_WORKER_WIRE);
      this.logger.log(`worker ${key} speaks PHP GatewayWorker's wire (events without acknowledgement or redelivery)`);
      return this.peer(link, worker);
    }
    if (f.cmd === Cmd.GatewayClientConnect) {
      return this.authorized(f, link, 'PHP GatewayClient') ? this.peer(link, null) : null;
    }
    if (this.options.phpSecretKey !== '') {
      // PHP: "Unauthorized request", connection closed.
      link.destroy(`PHP peer sent ${cmdName(f.cmd)} before CMD_GATEWAY_CLIENT_CONNECT, and PHP_SECRET_KEY is set`);
      return null;
    }
    const peerOf = this.peer(link, null);
    peerOf.frame(f);
    return peerOf;
  }

  private peer(link: InnerLink<GatewayFrame>, worker: WorkerChannel | null): PhpPeer {
    return {
      worker,
      frame: (f) => this.frame(f, link),
    };
  }

  /** One frame of an identified PHP peer. */
  private frame(f: GatewayFrame, link: InnerLink<GatewayFrame>): void {
    const query = PHP_QUERIES.get(f.cmd);
    if (query) {
      link.send(encodePhpReply(query(this.hub, f)));
      return;
    }
    const command = PHP_COMMANDS.get(f.cmd);
    if (command) return command(this.hub, f, (cmd, reason) => this.warn(cmd, reason));
    if (f.cmd === Cmd.GatewayClientConnect || f.cmd === Cmd.WorkerConnect) {
      this.authorized(f, link, 'PHP peer');
      return;
    }
    this.warn(f.cmd, 'not a command a PHP GatewayWorker peer sends to a gateway');
  }

  /** PHP's key check of a 200/202 (strict equality; a body without secret_key never matches). */
  private authorized(f: GatewayFrame, link: InnerLink<GatewayFrame>, who: string): boolean {
    const sent = secretKeyOf(f.body);
    if (sent !== undefined && phpSecretKeyMatches(sent, this.options.phpSecretKey)) return true;
    link.destroy(`${who}: secret_key does not match PHP_SECRET_KEY`);
    return false;
  }

  private warn(cmd: number, reason: string): void {
    this.warnings.warn(cmdName(cmd), `${cmdName(cmd)} from a PHP peer: ${reason}`);
  }
}

/** The worker_key of PHP's CMD_WORKER_CONNECT body ("name:index"). */
function workerKeyOf(f: GatewayFrame): string | undefined {
  try {
    const key: unknown = (JSON.parse(f.body.toString('utf8')) as { worker_key?: unknown }).worker_key;
    return typeof key === 'string' && key !== '' ? key : undefined;
  } catch {
    return undefined;
  }
}

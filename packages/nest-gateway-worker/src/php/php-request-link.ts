import type { Logger } from '@nestjs/common';
import { connect } from 'node:net';
import { GatewayTimeoutError, GatewayUnavailableError } from '../client/gateway-errors';
import { InnerLink } from '../protocol/inner-link';
import { PhpReplyDecoder } from './php-reply';
import type { PhpRequest } from './php-request-encoding';

interface Pending {
  request: PhpRequest;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The connection a worker or GatewayClient of the php profile asks one gateway's questions on, as PHP's Lib\Gateway
 * does (a pooled connection per gateway, apart from the worker's event link: a PHP gateway answers on the connection
 * a request came on, with bare `u32 length + payload` replies that would corrupt a stream of event frames).
 *
 * It opens on the first request with CMD_GATEWAY_CLIENT_CONNECT `{"secret_key": …}` (sent even when the key is
 * empty, which PHP's gateway accepts, so ours knows the link at once), pipelines requests, and matches replies to
 * them in order, PHP's only way. A request that times out closes the connection and fails the requests behind it
 * (a late reply would be matched to the wrong request); the next request opens a new one.
 */
export class PhpRequestLink {
  private link: InnerLink<Buffer> | null = null;
  private readonly pending: Pending[] = [];

  constructor(
    readonly address: string,
    /** The encoded 202 frame sent first on every connection. */
    private readonly hello: Buffer,
    private readonly logger: Logger,
    private readonly maxReplySize?: number,
  ) {}

  /** Sends the request and resolves with its result; rejects with GatewayTimeoutError after `timeoutMs`. */
  ask(request: PhpRequest, timeoutMs: number): Promise<unknown> {
    const link = this.open();
    return new Promise((resolve, reject) => {
      const entry: Pending = { request, resolve, reject, timer: undefined as unknown as NodeJS.Timeout };
      entry.timer = setTimeout(() => {
        this.fail(entry, new GatewayTimeoutError(this.address, timeoutMs));
        this.close(`a request got no reply within ${timeoutMs} ms`);
      }, timeoutMs);
      this.pending.push(entry);
      if (!link.send(request.bytes)) this.fail(entry, new GatewayUnavailableError(this.address, 'link closed'));
    });
  }

  /** Closes the connection; the requests waiting on it fail. */
  close(reason = 'closed'): void {
    const link = this.link;
    this.link = null;
    link?.destroy();
    for (const entry of this.pending.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject(new GatewayUnavailableError(this.address, reason));
    }
  }

  private open(): InnerLink<Buffer> {
    if (this.link && !this.link.isClosed) return this.link;
    const colon = this.address.lastIndexOf(':');
    const socket = connect(Number(this.address.slice(colon + 1)), this.address.slice(0, colon));
    const link = new InnerLink<Buffer>(socket, {
      secret: null,
      role: 'initiator',
      decoder: new PhpReplyDecoder(this.maxReplySize),
      label: `gateway ${this.address} (PHP requests)`,
      logger: this.logger,
    });
    this.link = link;
    link.send(this.hello);
    link.on('message', (payload: Buffer) => this.reply(payload));
    link.on('close', (reason: string) => {
      if (this.link === link) this.close(`link closed${reason ? ` (${reason})` : ''}`);
    });
    return link;
  }

  private reply(payload: Buffer): void {
    const entry = this.pending.shift();
    if (!entry) {
      // A reply nobody asked for: the stream is out of step; start again.
      this.close('a reply without a request');
      return;
    }
    clearTimeout(entry.timer);
    let result: unknown;
    try {
      result = entry.request.result(payload);
    } catch (err) {
      return entry.reject(new GatewayUnavailableError(this.address, `malformed reply: ${(err as Error).message}`));
    }
    entry.resolve(result);
  }

  private fail(entry: Pending, err: Error): void {
    const at = this.pending.indexOf(entry);
    if (at >= 0) this.pending.splice(at, 1);
    clearTimeout(entry.timer);
    entry.reject(err);
  }
}

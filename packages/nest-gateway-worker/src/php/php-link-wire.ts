import { Logger } from '@nestjs/common';
import type { GatewayHello } from '../client/gateway-hello';
import type { LinkWire } from '../client/link-wire';
import { RateLimitedWarning } from '../logging/rate-limited-warning';
import { Cmd, cmdName } from '../protocol/command';
import { decodeFrame, encodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import type { GatewayRequest } from '../protocol/gateway-request';
import { phpCommandBytes } from './php-command-encoding';
import { PhpEventTranslation } from './php-event-translation';
import { phpGatewayAddress, phpRequest } from './php-request-encoding';
import { PhpRequestLink } from './php-request-link';

/**
 * The hello and wire of a worker's or GatewayClient's links with the php profile: they speak PHP GatewayWorker's wire
 * to every gateway (PHP's, or ours with the php profile, which takes them for PHP peers):
 *  - identification as PHP's: a worker sends CMD_WORKER_CONNECT `{"worker_key": "<name>:<pid>-<n>", "secret_key": …}`
 *    as its first frame, a GatewayClient CMD_GATEWAY_CLIENT_CONNECT `{"secret_key": …}`; register hellos carry
 *    secret_key too;
 *  - commands in PHP's encodings (phpCommandFrame), never a command 100-113;
 *  - requests on a separate connection per gateway (PhpRequestLink), replies parsed from PHP's form and client_ids
 *    rebuilt from the gateway's address and the connection ids (phpRequest);
 *  - events from PHP's form to the native one (PhpEventTranslation): no acks (PHP expects none), no drain exchange
 *    (a drain is answered at once: PHP gateways route nothing away from a stopping worker).
 */
export function phpLinkParts(hello: GatewayHello, phpSecretKey: string): { hello: GatewayHello; wire: LinkWire } {
  const isWorker = decodeFrame(hello.frame).cmd === Cmd.WorkerConnect;
  const identity = isWorker ? { worker_key: hello.key, secret_key: phpSecretKey } : { secret_key: phpSecretKey };
  const helloFrame = encodeFrame(
    frame({
      cmd: isWorker ? Cmd.WorkerConnect : Cmd.GatewayClientConnect,
      body: Buffer.from(JSON.stringify(identity), 'utf8'),
    }),
  );
  return {
    hello: { ...hello, frame: helloFrame },
    wire: new PhpLinkWire(phpSecretKey, hello.logContext),
  };
}

export class PhpLinkWire implements LinkWire {
  private readonly logger: Logger;
  private readonly requestLinks = new Map<string, PhpRequestLink>();
  private readonly events = new PhpEventTranslation();
  private readonly requestHello: Buffer;
  /** Commands that have no PHP form or whose parameters do not decode, at most one line every 10 s. */
  private readonly dropped: RateLimitedWarning;

  constructor(
    readonly registerSecretKey: string,
    logContext: string,
  ) {
    this.logger = new Logger(logContext);
    this.dropped = new RateLimitedWarning(this.logger, (n) => `${n} more command(s) not sent since the last warning`);
    this.requestHello = encodeFrame(
      frame({
        cmd: Cmd.GatewayClientConnect,
        body: Buffer.from(JSON.stringify({ secret_key: registerSecretKey }), 'utf8'),
      }),
    );
  }

  outgoing(bytes: Buffer, address: string, answer: (f: GatewayFrame) => void): Buffer | null {
    const f = decodeFrame(bytes);
    if (f.cmd === Cmd.WorkerDraining) {
      answer(frame({ cmd: Cmd.WorkerDrained }));
      return null;
    }
    if (f.cmd === Cmd.EventAck || f.cmd === Cmd.Ping) return null;
    let out: Buffer | null;
    try {
      out = phpCommandBytes(f);
    } catch (err) {
      this.dropped.warn(`${cmdName(f.cmd)} to gateway ${address} not sent: ${(err as Error).message}`);
      return null;
    }
    if (out === null) this.dropped.warn(`${cmdName(f.cmd)} has no form on PHP's wire; not sent to gateway ${address}`);
    return out;
  }

  async request(
    address: string,
    fields: Partial<GatewayFrame> & { cmd: Cmd },
    params: GatewayRequest,
    timeoutMs: number,
  ): Promise<unknown> {
    const request = phpRequest(fields, params, phpGatewayAddress(address));
    let link = this.requestLinks.get(address);
    if (!link) this.requestLinks.set(address, (link = new PhpRequestLink(address, this.requestHello, this.logger)));
    return link.ask(request, timeoutMs);
  }

  incoming(f: GatewayFrame, address: string, emit: (f: GatewayFrame) => void): void {
    this.events.frame(f, address, emit);
  }

  gatewayDown(address: string): void {
    this.events.gatewayDown(address);
    this.requestLinks.get(address)?.close('the gateway link went down');
    this.requestLinks.delete(address);
  }

  stop(): void {
    for (const link of this.requestLinks.values()) link.close('client stopped');
    this.requestLinks.clear();
    this.events.stop();
  }
}

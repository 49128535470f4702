import { Logger } from '@nestjs/common';
import { RateLimitedLog } from '../../logging/rate-limited-log';
import { Cmd, cmdName } from '../../protocol/command';
import type { GatewayBackplaneState } from '../../protocol/connection-stats';
import type { GatewayFrame } from '../../protocol/frame';
import {
  decodeRequest,
  encodeErrorReply,
  encodeReply,
  readRequestId,
  type GatewayRequest,
} from '../../protocol/gateway-request';
import type { InnerLink } from '../../protocol/inner-link';
import type { ClientHub } from '../client-hub';
import { raw, type CommandContext, type CommandRow, type RequestKey } from './command-row';
import { MEMBERSHIP_COMMANDS } from './membership-commands';
import { QUERIES } from './queries';
import { SEND_COMMANDS } from './send-commands';
import { SESSION_COMMANDS } from './session-commands';

/** A link-level keep-alive: nothing to do. */
const KEEP_ALIVE: CommandRow = raw(Cmd.Ping, () => undefined);

/** Every command the gateway executes. Adding one: the Cmd code, one row in one of these files, one SDK method. */
export const GATEWAY_COMMANDS: readonly CommandRow[] = [
  ...SEND_COMMANDS,
  ...MEMBERSHIP_COMMANDS,
  ...SESSION_COMMANDS,
  ...QUERIES,
  KEEP_ALIVE,
];

/**
 * Executes the commands workers and SDK clients send to this gateway (one frame at a time, from any identified
 * inner link), by looking up the frame's row: sends, closes, uid and group membership, sessions and queries.
 *
 * Unknown target connections are ignored (queries answer false / null / empty), as in PHP: a client can close
 * while a command for it is on its way. Bad parameters fail that one command: a request (or a confirmed send)
 * is answered with an error, a fire-and-forget command is dropped with a (rate-limited) warning that never
 * quotes the message; the link and everything else on it go on.
 *
 * Confirmed sends: a send or close command whose ext carries a `rid` is answered, after it was executed, with
 * a Reply whose result is the number of connections it was handed to (closed, for the closes). Without a rid
 * (every plain send, and every send from an older SDK) there is no reply, and SendToOne's / Kick's empty ext is
 * not parsed.
 */
export class CommandTable implements CommandContext {
  private readonly logger = new Logger('Gateway');
  /** Rows by command code (a code is one header byte). */
  private readonly rows: (CommandRow | undefined)[] = [];
  /** Since when GetGatewayStats counts the uptime: construction, then {@link start}. */
  startedAt: number;
  private readonly unsupportedLogged = new Set<number>();
  /** Bad fire-and-forget commands, logged at most once per command code every 10 s, then a summary. */
  private readonly warnings: RateLimitedLog;
  /** Command frames received, by command code (one header byte), whether executed or not. */
  readonly received = new Float64Array(256);
  /** Where GetGatewayStats reads the backplane's state from (set by the gateway when it has one). */
  backplane: { state(): GatewayBackplaneState } | null = null;

  constructor(
    readonly hub: ClientHub,
    /** Clock for the rate limit of warnings and for uptime. */
    readonly now: () => number = Date.now,
    rows: readonly CommandRow[] = GATEWAY_COMMANDS,
  ) {
    for (const row of rows) {
      if (this.rows[row.cmd] !== undefined) throw new Error(`two command rows for ${cmdName(row.cmd)}`);
      this.rows[row.cmd] = row;
    }
    this.startedAt = now();
    this.warnings = new RateLimitedLog(this.logger, {
      now,
      more: (n, name) => `${n} more ${name} ignored since the last warning`,
      summary: (n, name, total) => `${n} more ${name} ignored in the last 10 s; ${total} in all`,
    });
  }

  /** The gateway is up (its inner port is bound): the uptime counts from now. */
  start(): void {
    this.startedAt = this.now();
  }

  get workerCount(): number {
    return this.hub.delivery.workerCount;
  }

  /** Executes one command frame received on `link`; replies go back on that link. Never throws at the link. */
  execute(f: GatewayFrame, link: InnerLink<GatewayFrame>): void {
    this.received[f.cmd]++;
    const row = this.rows[f.cmd];
    if (row === undefined) return this.unsupported(f.cmd);
    switch (row.kind) {
      case 'direct': {
        const count = row.run(this, f);
        if (f.ext.length > 0) this.confirm(f, link, count);
        return;
      }
      case 'raw':
        return row.run(this, f);
      case 'action': {
        const p = this.decode(f, link, row.required);
        if (p === null) return;
        const count = row.run(this, f, p);
        if (p.rid !== undefined) link.send(encodeReply(p.rid, String(count)));
        return;
      }
      case 'query': {
        const p = this.decode(f, link, row.required);
        // A query's rows require the rid: decode has checked it.
        if (p === null || p.rid === undefined) return;
        link.send(encodeReply(p.rid, row.run(this, f, p)));
        return;
      }
    }
  }

  backplaneState(): GatewayBackplaneState | null {
    return this.backplane ? this.backplane.state() : null;
  }

  warnIgnored(cmd: number, reason: string): void {
    this.warnings.warn(cmdName(cmd), `${cmdName(cmd)} ignored: ${reason}`);
  }

  /** Answers a confirmed direct command (its ext is `{"rid":n}`) with the number of connections reached. */
  private confirm(f: GatewayFrame, link: InnerLink<GatewayFrame>, count: number): void {
    const rid = readRequestId(f.ext);
    if (rid !== undefined) link.send(encodeReply(rid, String(count)));
    else this.warnIgnored(f.cmd, 'ext must be empty or {"rid": n}');
  }

  /**
   * The validated parameters of a command, or null when they are bad: then a request (or confirmed send) is
   * failed with the reason when its rid can be read, anything else is dropped with a warning. The reason never
   * quotes the message.
   */
  private decode(
    f: GatewayFrame,
    link: InnerLink<GatewayFrame>,
    required: readonly RequestKey[],
  ): GatewayRequest | null {
    let reason: string;
    try {
      const r = decodeRequest(f.ext);
      const missing = firstMissing(r, required);
      if (missing === undefined) return r;
      reason = `${missing} is required`;
    } catch (err) {
      reason = (err as Error).message;
    }
    const rid = readRequestId(f.ext);
    if (rid !== undefined) link.send(encodeErrorReply(rid, reason));
    else this.warnIgnored(f.cmd, reason);
    return null;
  }

  private unsupported(cmd: number): void {
    if (this.unsupportedLogged.has(cmd)) return;
    this.unsupportedLogged.add(cmd);
    this.logger.warn(`${cmdName(cmd)} is not supported by this gateway yet; ignored`);
  }
}

function firstMissing(r: GatewayRequest, required: readonly RequestKey[]): RequestKey | undefined {
  for (const key of required) if (r[key] === undefined) return key;
  return undefined;
}

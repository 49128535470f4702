import { RateLimitedWarning } from '../logging/rate-limited-warning';
import type { Logger } from '@nestjs/common';
import { DEFAULT_CLOSE_CODE, DEFAULT_REJECT_CODE, truncateCloseReason } from '../protocol/close-reason';
import { encodeClientId, ipv4ToString } from '../protocol/client-id';
import { Cmd, cmdName, FrameFlag } from '../protocol/command';
import { mergeSession, parseSessionJson } from '../protocol/session-json';
import type { GatewayFrame } from '../protocol/frame';
import {
  REQUEST_COMMANDS,
  decodeRequest,
  encodeErrorReply,
  encodeReply,
  readRequestId,
  type GatewayRequest,
} from '../protocol/gateway-request';
import type { InnerLink } from '../protocol/inner-link';
import type { ClientInfo, GatewayStats } from '../protocol/connection-stats';
import type { ClientConnection } from './client-connection';
import type { ClientSocket } from './client-socket';
import type { ConnectionTable } from './connection-table';
import { GatewayCounters } from './gateway-stats';
import type { MembershipIndex } from './membership-index';
import { OutgoingMessage } from './outgoing-message';

/** What {@link GatewayCommands} needs from the gateway. */
export interface GatewayCommandsOptions {
  table: ConnectionTable;
  membership: MembershipIndex;
  /**
   * Sends one client message, with the gateway's slow-consumer check. A command that reaches several clients
   * passes the same {@link OutgoingMessage} to each, so the message is framed once. Returns whether the message
   * was handed to the client's socket (false: closing, or closed as a slow consumer): a confirmed send counts it.
   */
  sendToClient: (client: ClientConnection, message: OutgoingMessage) => boolean;
  /** Closes a client (the gateway's SocketReaper: cut after a grace period). Default: a plain close. */
  closeClient?: (socket: ClientSocket, code: number, reason: string) => void;
  /** The gateway's lan IPv4 as u32 and its inner port: the first two parts of the client_ids in replies. */
  lanIp: number;
  innerPort: number;
  logger: Logger;
  /** Clock for the rate limit of warnings and for uptime (tests set it). */
  now?: () => number;
  /** The gateway's counters: GetGatewayStats reports them, RejectConnection counts in them. Default: fresh ones. */
  counters?: GatewayCounters;
  /** Number of workers linked now (GetGatewayStats). Default: 0. */
  workerCount?: () => number;
  /** When the gateway started, epoch ms (GetGatewayStats' uptime). Default: when GatewayCommands was created. */
  startedAt?: number;
}


/**
 * Close with a code and reason: CloseWithReason (a worker's or SDK client's closeClient with a code) and
 * RejectConnection (a worker's connect handler refused the client).
 */
const CLOSES: ReadonlySet<number> = new Set([Cmd.CloseWithReason, Cmd.RejectConnection]);

/** Commands whose ext is a {@link GatewayRequest} (the table in protocol/gateway-request.ts). */
const TAKES_REQUEST: ReadonlySet<number> = new Set([
  Cmd.SendToAll,
  Cmd.SendToUid,
  Cmd.SendToGroup,
  Cmd.BindUid,
  Cmd.UnbindUid,
  Cmd.JoinGroup,
  Cmd.LeaveGroup,
  Cmd.Ungroup,
  ...CLOSES,
  ...REQUEST_COMMANDS,
]);

/** Fields a command cannot do without (decodeRequest checks types, not presence). rid is checked for all requests. */
const REQUIRED: ReadonlyMap<number, readonly (keyof GatewayRequest)[]> = new Map([
  [Cmd.SendToUid, ['uids']],
  [Cmd.SendToGroup, ['groups']],
  [Cmd.BindUid, ['uid']],
  [Cmd.JoinGroup, ['group']],
  [Cmd.LeaveGroup, ['group']],
  [Cmd.Ungroup, ['group']],
  [Cmd.GetClientSessionsByGroup, ['group']],
  [Cmd.GetClientIdByUid, ['uid']],
  [Cmd.BatchGetClientIdByUid, ['uids']],
  [Cmd.Select, ['select']],
]);

const NO_MEMBERS: ReadonlySet<ClientConnection> = new Set();

/** A request whose rid has been checked. */
type Request = GatewayRequest & { rid: number };

/**
 * Executes the commands workers and SDK clients send to this gateway (one frame at a time, from any identified
 * inner link): sends, uid and group membership, sessions, and the queries, which are answered with a
 * {@link Cmd.Reply} on the link they came from.
 *
 * Unknown target connections are ignored (queries answer false / null / empty), as in PHP: a client can close
 * while a command for it is on its way. Bad parameters fail that one command: a request is answered with an
 * error, a fire-and-forget command is dropped with a (rate-limited) warning; the link and everything else on it
 * go on.
 *
 * Confirmed sends: a send or close command (SendToOne, SendToAll, SendToUid, SendToGroup, Kick, CloseWithReason,
 * Destroy) whose ext carries a `rid` is answered, after it was executed, with a Reply whose result is the number
 * of connections it was handed to (closed, for the closes). Without a rid (every plain send, and every send from
 * an older SDK) nothing changes: no reply, no parsing of SendToOne's / Kick's empty ext.
 */
export class GatewayCommands {
  private readonly table: ConnectionTable;
  private readonly membership: MembershipIndex;
  private readonly send: GatewayCommandsOptions['sendToClient'];
  private readonly closeClient: NonNullable<GatewayCommandsOptions['closeClient']>;
  private readonly lanIp: number;
  private readonly innerPort: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly counters: GatewayCounters;
  private readonly workerCount: () => number;
  private readonly startedAt: number;
  private readonly unsupportedLogged = new Set<number>();
  /** Per command code: when the last "ignored" warning was logged, and how many were held back since. */
  /** Bad fire-and-forget commands, logged at most once per command code every 10 s. */
  private readonly warnings = new Map<number, RateLimitedWarning>();

  constructor(options: GatewayCommandsOptions) {
    this.table = options.table;
    this.membership = options.membership;
    this.send = options.sendToClient;
    this.closeClient = options.closeClient ?? ((socket, code, reason) => socket.close(code, reason));
    this.lanIp = options.lanIp;
    this.innerPort = options.innerPort;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.counters = options.counters ?? new GatewayCounters();
    this.workerCount = options.workerCount ?? (() => 0);
    this.startedAt = options.startedAt ?? this.now();
  }

  /** Executes one command frame received on `link`; replies go back on that link. Never throws at the link. */
  execute(f: GatewayFrame, link: InnerLink<GatewayFrame>): void {
    switch (f.cmd) {
      case Cmd.SendToOne: {
        const client = this.table.get(f.connectionId);
        const sent = client !== undefined && this.send(client, message(f));
        if (f.ext.length > 0) this.confirm(f, link, sent ? 1 : 0);
        return;
      }
      case Cmd.Kick: {
        const client = this.table.get(f.connectionId);
        const open = client !== undefined && client.socket.isOpen;
        if (client) {
          if (f.body.length > 0) this.send(client, message(f));
          this.closeClient(client.socket, 1000, '');
        }
        if (f.ext.length > 0) this.confirm(f, link, open ? 1 : 0);
        return;
      }
      case Cmd.Destroy: {
        const client = this.table.get(f.connectionId);
        client?.socket.terminate();
        if (f.ext.length > 0) this.confirm(f, link, client ? 1 : 0);
        return;
      }
      case Cmd.SetSession:
      case Cmd.UpdateSession: {
        const client = this.table.get(f.connectionId);
        if (!client) return;
        try {
          const written = parseSessionJson(f.ext);
          client.session = JSON.stringify(
            f.cmd === Cmd.SetSession ? written : mergeSession(JSON.parse(client.session), written),
          );
          client.sessionVersion++;
        } catch (err) {
          this.warnIgnored(f.cmd, `client ${client.id}: ${(err as Error).message}`);
        }
        return;
      }
      case Cmd.Ping:
        return;
    }
    if (!TAKES_REQUEST.has(f.cmd)) {
      if (!this.unsupportedLogged.has(f.cmd)) {
        this.unsupportedLogged.add(f.cmd);
        this.logger.warn(`${cmdName(f.cmd)} is not supported by this gateway yet; ignored`);
      }
      return;
    }
    const request = this.decode(f, link);
    if (!request) return;
    if (REQUEST_COMMANDS.has(f.cmd)) {
      const rid = (request as Request).rid;
      link.send(encodeReply(rid, this.answer(f, request as Request)));
    } else {
      const count = this.apply(f, request);
      if (request.rid !== undefined) link.send(encodeReply(request.rid, String(count)));
    }
  }

  /** Answers a confirmed SendToOne / Kick / Destroy (its ext is `{"rid":n}`) with the number of connections reached. */
  private confirm(f: GatewayFrame, link: InnerLink<GatewayFrame>, count: number): void {
    const rid = readRequestId(f.ext);
    if (rid !== undefined) link.send(encodeReply(rid, String(count)));
    else this.warnIgnored(f.cmd, 'ext must be empty or {"rid": n}');
  }

  // ---- fire-and-forget commands --------------------------------------------------------------------

  /** Executes a fire-and-forget command; returns the number of connections it reached (sent to, changed, closed). */
  private apply(f: GatewayFrame, r: GatewayRequest): number {
    switch (f.cmd) {
      case Cmd.SendToAll:
        return this.sendToAll(f, r);
      case Cmd.SendToUid: {
        // A connection has one uid, so distinct uids reach disjoint connections: no per-client dedupe needed.
        const m = message(f);
        let count = 0;
        for (const uid of r.uids!.length > 1 ? new Set(r.uids) : r.uids!) {
          const connections = this.membership.connectionsOfUid(uid);
          if (connections) for (const client of connections) if (this.send(client, m)) count++;
        }
        return count;
      }
      case Cmd.SendToGroup:
        return this.sendToGroups(f, r.groups!, r.exclude);
      case Cmd.BindUid: {
        const client = this.table.get(f.connectionId);
        if (!client) return 0;
        this.membership.bindUid(client, r.uid!);
        return 1;
      }
      case Cmd.UnbindUid: {
        const client = this.table.get(f.connectionId);
        if (!client) return 0;
        this.membership.unbindUid(client);
        return 1;
      }
      case Cmd.JoinGroup: {
        const client = this.table.get(f.connectionId);
        if (!client) return 0;
        this.membership.joinGroup(client, r.group!);
        return 1;
      }
      case Cmd.LeaveGroup: {
        const client = this.table.get(f.connectionId);
        if (!client) return 0;
        this.membership.leaveGroup(client, r.group!);
        return 1;
      }
      case Cmd.Ungroup:
        this.membership.ungroup(r.group!);
        return 0;
      case Cmd.CloseWithReason:
      case Cmd.RejectConnection:
        return this.closeWithReason(f, r);
    }
    return 0;
  }

  /**
   * Closes one client with a code and reason (cut to what a close frame holds). A rejected client is marked so
   * that the gateway forwards none of the messages it still sends before it sees the close.
   */
  private closeWithReason(f: GatewayFrame, r: GatewayRequest): number {
    const client = this.table.get(f.connectionId);
    if (!client || !client.socket.isOpen) return 0;
    const reject = f.cmd === Cmd.RejectConnection;
    if (reject) {
      client.rejected = true;
      this.counters.connectionsRejected++;
    } else if (f.body.length > 0) {
      this.send(client, message(f));
    }
    this.closeClient(client.socket, r.code ?? (reject ? DEFAULT_REJECT_CODE : DEFAULT_CLOSE_CODE), truncateCloseReason(r.reason ?? ''));
    return 1;
  }

  /**
   * `connections` = only those of this gateway's connections (each once, however often listed); `exclude` = all
   * but those; both = the listed ones minus the excluded ones; neither = every connection.
   */
  private sendToAll(f: GatewayFrame, r: GatewayRequest): number {
    const excluded = r.exclude && r.exclude.length > 0 ? new Set(r.exclude) : null;
    const m = message(f);
    let count = 0;
    if (r.connections) {
      for (const id of r.connections.length > 1 ? new Set(r.connections) : r.connections) {
        if (excluded?.has(id)) continue;
        const client = this.table.get(id);
        if (client && this.send(client, m)) count++;
      }
      return count;
    }
    if (excluded) {
      for (const client of this.table.values()) if (!excluded.has(client.id) && this.send(client, m)) count++;
    } else {
      for (const client of this.table.values()) if (this.send(client, m)) count++;
    }
    return count;
  }

  /** Once per client, even when it is in several of the groups (PHP sends it once per group). */
  private sendToGroups(f: GatewayFrame, groups: string[], exclude: number[] | undefined): number {
    const excluded = exclude && exclude.length > 0 ? new Set(exclude) : null;
    const m = message(f);
    let count = 0;
    if (groups.length === 1) {
      // One group: its members are already distinct; skip building a recipient set.
      const members = this.membership.membersOfGroup(groups[0]);
      if (members) for (const client of members) if (!excluded?.has(client.id) && this.send(client, m)) count++;
      return count;
    }
    for (const client of this.membersOf(groups)) if (!excluded?.has(client.id) && this.send(client, m)) count++;
    return count;
  }

  // ---- queries -------------------------------------------------------------------------------------

  /** The JSON result of a request command. Sessions are stored as JSON text and spliced in without parsing. */
  private answer(f: GatewayFrame, r: Request): string {
    switch (f.cmd) {
      case Cmd.IsOnline:
        return this.table.get(f.connectionId) ? 'true' : 'false';
      case Cmd.GetSessionByClientId: {
        const client = this.table.get(f.connectionId);
        return client ? sessionJson(client) : 'null';
      }
      case Cmd.GetAllClientSessions:
        return this.sessionsJson(this.table.values());
      case Cmd.GetClientSessionsByGroup:
        return this.sessionsJson(this.membership.membersOfGroup(r.group!) ?? []);
      case Cmd.GetClientIdByUid:
        return JSON.stringify(this.clientIds(this.membership.connectionsOfUid(r.uid!) ?? []));
      case Cmd.BatchGetClientIdByUid: {
        const parts: string[] = [];
        for (const uid of new Set(r.uids)) {
          parts.push(`${JSON.stringify(uid)}:${JSON.stringify(this.clientIds(this.membership.connectionsOfUid(uid) ?? []))}`);
        }
        return `{${parts.join(',')}}`;
      }
      case Cmd.GetClientCountByGroup:
        return String(r.group === undefined ? this.table.size : (this.membership.membersOfGroup(r.group)?.size ?? 0));
      case Cmd.BatchGetClientCountByGroup:
        return this.perGroupJson(r.groups, (members) => String(members.size));
      case Cmd.GetGroupIdList:
        return JSON.stringify([...this.membership.groupIds()]);
      case Cmd.Select:
        return this.select(f, r);
      case Cmd.GetClientInfo: {
        const client = this.table.get(f.connectionId);
        return client ? JSON.stringify(this.clientInfo(client)) : 'null';
      }
      case Cmd.GetGatewayStats:
        return JSON.stringify(this.gatewayStats());
      default:
        // Unreachable: REQUEST_COMMANDS are all handled above.
        return 'null';
    }
  }

  private select(f: GatewayFrame, r: Request): string {
    switch (r.select!) {
      case 'uid':
        return JSON.stringify(this.table.get(f.connectionId)?.uid ?? null);
      case 'clientIds':
        return JSON.stringify(this.clientIds(r.groups === undefined ? this.table.values() : this.membersOf(r.groups)));
      case 'uids': {
        // All clients: the uid index already holds each bound uid once.
        if (r.groups === undefined) return JSON.stringify([...this.membership.uids()]);
        return JSON.stringify([...distinctUids(this.membersOf(r.groups))]);
      }
      case 'groupClientIds':
        return this.perGroupJson(r.groups, (members) => JSON.stringify(this.clientIds(members)));
      case 'groupUids':
        return this.perGroupJson(r.groups, (members) => JSON.stringify([...distinctUids(members)]));
    }
  }

  private clientInfo(client: ClientConnection): ClientInfo {
    const h = client.handshake; // parsed from its JSON: the connection keeps no handshake object
    return {
      clientId: this.clientId(client),
      connectedAt: client.connectedAt,
      messagesIn: client.messagesIn,
      messagesOut: client.messagesOut,
      listener: h.listener,
      protocol: h.protocol,
      remoteAddress: client.remoteAddress,
      remotePort: client.remotePort,
      uid: client.uid,
      groups: client.groups ? [...client.groups] : [],
    };
  }

  private gatewayStats(): GatewayStats {
    return {
      address: `${ipv4ToString(this.lanIp)}:${this.innerPort}`,
      connections: this.table.size,
      workers: this.workerCount(),
      uptimeMs: Math.max(0, this.now() - this.startedAt),
      // Every counter field, including ones added later, without listing them here.
      counters: { ...this.counters },
      memoryRss: process.memoryUsage.rss(),
    };
  }

  /** `{group: value}` for every group, or for the listed ones (an unknown listed group has no members). */
  private perGroupJson(groups: string[] | undefined, value: (members: ReadonlySet<ClientConnection>) => string): string {
    const parts: string[] = [];
    if (groups === undefined) {
      for (const [group, members] of this.membership.groups()) parts.push(`${JSON.stringify(group)}:${value(members)}`);
    } else {
      for (const group of new Set(groups)) {
        parts.push(`${JSON.stringify(group)}:${value(this.membership.membersOfGroup(group) ?? NO_MEMBERS)}`);
      }
    }
    return `{${parts.join(',')}}`;
  }

  /** The distinct members of the listed groups. */
  private membersOf(groups: string[]): Set<ClientConnection> {
    const out = new Set<ClientConnection>();
    for (const group of groups) {
      const members = this.membership.membersOfGroup(group);
      if (members) for (const client of members) out.add(client);
    }
    return out;
  }

  private sessionsJson(clients: Iterable<ClientConnection>): string {
    const parts: string[] = [];
    for (const client of clients) parts.push(`"${this.clientId(client)}":${sessionJson(client)}`);
    return `{${parts.join(',')}}`;
  }

  private clientIds(clients: Iterable<ClientConnection>): string[] {
    const out: string[] = [];
    for (const client of clients) out.push(this.clientId(client));
    return out;
  }

  private clientId(client: ClientConnection): string {
    return encodeClientId({ localIp: this.lanIp, localPort: this.innerPort, connectionId: client.id });
  }

  // ---- parameters ----------------------------------------------------------------------------------

  /**
   * The validated parameters of a command, or null when they are bad: then a request is failed with the reason
   * (when its rid can be read), anything else is dropped with a warning. The reason never quotes the message.
   */
  private decode(f: GatewayFrame, link: InnerLink<GatewayFrame>): GatewayRequest | null {
    const isRequest = REQUEST_COMMANDS.has(f.cmd);
    let reason: string;
    try {
      const r = decodeRequest(f.ext);
      const missing =
        isRequest && r.rid === undefined ? 'rid' : REQUIRED.get(f.cmd)?.find((key) => r[key] === undefined);
      if (missing === undefined) return r;
      reason = `${missing} is required`;
    } catch (err) {
      reason = (err as Error).message;
    }
    // A request, or a confirmed send (its rid is readable): fail it with the reason instead of leaving it to time out.
    const rid = readRequestId(f.ext);
    if (rid !== undefined) link.send(encodeErrorReply(rid, reason));
    else this.warnIgnored(f.cmd, reason);
    return null;
  }

  private warnIgnored(cmd: number, reason: string): void {
    let warning = this.warnings.get(cmd);
    if (!warning) {
      warning = new RateLimitedWarning(this.logger, (n) => `${n} more ${cmdName(cmd)} ignored since the last warning`, this.now);
      this.warnings.set(cmd, warning);
    }
    warning.warn(`${cmdName(cmd)} ignored: ${reason}`);
  }
}

/** The frame's body as a message for clients (flag Binary = a binary WebSocket frame). */
function message(f: GatewayFrame): OutgoingMessage {
  return new OutgoingMessage(f.body, (f.flag & FrameFlag.Binary) !== 0);
}

/** The stored session text; a connection whose session was never set answers `{}`. */
function sessionJson(client: ClientConnection): string {
  return client.session === 'null' ? '{}' : client.session;
}

function distinctUids(clients: Iterable<ClientConnection>): Set<string> {
  const out = new Set<string>();
  for (const client of clients) if (client.uid !== null) out.add(client.uid);
  return out;
}

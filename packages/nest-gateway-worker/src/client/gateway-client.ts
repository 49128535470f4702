import { RateLimitedWarning } from '../logging/rate-limited-warning';
import { Logger } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import { decodeClientId, gatewayAddress, type ClientAddress } from '../protocol/client-id';
import { messageFrameFields, toOutgoingMessage } from '../protocol/client-message';
import { isSendableCloseCode } from '../protocol/close-reason';
import { Cmd } from '../protocol/command';
import type { ClientInfo, GatewayStats } from '../protocol/connection-stats';
import { mergeSession } from '../protocol/session-json';
import { encodeFrame, frame, type GatewayFrame } from '../protocol/frame';
import { encodeRequest, type GatewayRequest } from '../protocol/gateway-request';
import { GatewayArgumentError, GatewayPartialFailureError, type GatewayFailure } from './gateway-errors';
import type { GatewayLinks } from './gateway-links';

/** A message for a client: string → text frame; Buffer / Uint8Array → binary frame; object or array → JSON text. */
export type ClientMessage = string | Buffer | Uint8Array | ArrayBuffer | object;
/** A uid or group id. Numbers are turned into strings, so 42 and "42" are the same id. */
export type Id = string | number;
export type ClientSession = Record<string, unknown>;

/** Behaviour settings of a GatewayClient (see GatewayClientModuleOptions for the defaults). */
export interface GatewayClientSettings {
  /** Per-gateway time limit of a command or query, in milliseconds. */
  timeoutMs: number;
  /** Reject a multi-gateway call when any gateway fails, instead of returning the others' results. */
  rejectOnGatewayFailure: boolean;
}

/**
 * The sessions of the clients whose handlers are running in this worker (their `@Session()` objects), so that
 * setSession/updateSession on such a client also change the object its handler will write back.
 */
export interface LocalSessions {
  activeSession(clientId: string): ClientSession | undefined;
  /** A uid was bound through this GatewayClient (a worker's session store loads and merges it). */
  uidBound?(clientId: string, uid: string): Promise<void>;
  /** setSession / updateSession went out through this GatewayClient (a worker's session store saves it). */
  sessionWritten?(clientId: string): void;
}

/** closeClient's close code and reason (WebSocket clients see them in the close frame). */
export interface CloseOptions {
  /** 1000, 1001, 1008, 1011, 1013 or 3000-4999. Default 1000. */
  code?: number;
  /** Shown to the client; cut to 123 bytes of UTF-8 by the gateway. Default "". */
  reason?: string;
}

/**
 * The whole GatewayWorker API as one injectable class (`@Inject(GatewayClient)` or constructor injection).
 * In a worker it rides the worker's gateway links; in any other Nest app (`GatewayModule.forClient`) it keeps
 * its own pooled links to every registered gateway.
 *
 * - Single-client methods go only to the gateway encoded in the client_id. A malformed id rejects with
 *   InvalidClientIdError; a gateway that is not registered or does not answer in time rejects with
 *   GatewayUnavailableError / GatewayTimeoutError naming it.
 * - Multi-gateway methods go to every gateway at once, each with its own time limit. A gateway that fails does
 *   not stop the others: their results are merged and returned, and the failure is logged and emitted on
 *   {@link failures} (or the call rejects with GatewayPartialFailureError when `rejectOnGatewayFailure`).
 * - Fire-and-forget methods resolve once the command is queued on the gateway's link (it leaves within the same
 *   event-loop turn, in order with everything else this client sends to that gateway). They do not wait for the
 *   gateway to act, so a gateway that hangs without closing its socket is noticed only by queries.
 */
export class GatewayClient {
  private readonly logger = new Logger('GatewayClient');
  private readonly failureSubject = new Subject<GatewayFailure>();
  private readonly warnings = new Map<string, RateLimitedWarning>();

  /** Every gateway failure of a multi-gateway call (also logged, at most once per gateway every 10 s). */
  readonly failures: Observable<GatewayFailure> = this.failureSubject.asObservable();

  constructor(
    private readonly links: GatewayLinks,
    private readonly settings: GatewayClientSettings,
    private readonly local?: LocalSessions,
  ) {}

  // ---- sending ---------------------------------------------------------------------------------------

  /** Sends a message to one client. */
  async sendToClient(clientId: string, message: ClientMessage): Promise<void> {
    await this.command(clientId, { cmd: Cmd.SendToOne, ...messageFields(message) });
  }

  /**
   * Sends a message to every online client; with `clientIds`, only to those (an empty list sends nothing);
   * `excludeClientIds` are skipped.
   */
  async sendToAll(message: ClientMessage, clientIds?: string[] | null, excludeClientIds?: string[] | null): Promise<void> {
    const fields = messageFields(message);
    // Per gateway: the connection ids to exclude (or, with clientIds, the only ones to send to); each gateway
    // resolves its own part, so the exclusion needs no client-side filtering.
    const exclude = groupByGateway(excludeClientIds ?? []);
    if (clientIds) {
      const targets = groupByGateway(clientIds);
      await this.fanOut('sendToAll', [...targets.keys()], (address) =>
        this.frameBytes(Cmd.SendToAll, fields, { connections: targets.get(address), exclude: exclude.get(address) }),
      );
      return;
    }
    await this.fanOut('sendToAll', await this.gateways(), (address) =>
      this.frameBytes(Cmd.SendToAll, fields, exclude.has(address) ? { exclude: exclude.get(address) } : {}),
    );
  }

  /** Sends a message to every connection bound to the uid (or to any of the uids). */
  async sendToUid(uid: Id | Id[], message: ClientMessage): Promise<void> {
    const uids = idList(uid, 'uid');
    const fields = messageFields(message);
    if (uids.length === 0) return;
    await this.fanOut('sendToUid', await this.gateways(), () => this.frameBytes(Cmd.SendToUid, fields, { uids }));
  }

  /** Sends a message to the members of the group (or groups; a member of several gets it once), minus `excludeClientIds`. */
  async sendToGroup(group: Id | Id[], message: ClientMessage, excludeClientIds?: string[] | null): Promise<void> {
    const groups = idList(group, 'group');
    const fields = messageFields(message);
    if (groups.length === 0) return;
    const exclude = groupByGateway(excludeClientIds ?? []);
    await this.fanOut('sendToGroup', await this.gateways(), (address) =>
      this.frameBytes(Cmd.SendToGroup, fields, exclude.has(address) ? { groups, exclude: exclude.get(address) } : { groups }),
    );
  }

  /**
   * Closes a client's connection, after sending `message` if given: WebSocket close 1000 with no reason (PHP's
   * closeClient), or the code and reason of `close`: `closeClient(id, null, { code: 4001, reason: 'replaced' })`.
   */
  async closeClient(clientId: string, message?: ClientMessage | null, close?: CloseOptions): Promise<void> {
    const outgoing = toOutgoingMessage(message);
    if (!close) {
      await this.command(clientId, { cmd: Cmd.Kick, ...(outgoing && messageFrameFields(outgoing)) });
      return;
    }
    if (close.code !== undefined && !isSendableCloseCode(close.code)) {
      throw new GatewayArgumentError(`close code ${close.code} cannot be sent: use 1000, 1001, 1008, 1011, 1013 or 3000-4999`);
    }
    if (close.reason !== undefined && typeof close.reason !== 'string') throw new GatewayArgumentError('close reason must be a string');
    const ext = encodeRequest({ code: close.code, reason: close.reason });
    await this.command(clientId, { cmd: Cmd.CloseWithReason, ext, ...(outgoing && messageFrameFields(outgoing)) });
  }

  /** Drops a client's connection at once, discarding anything not yet sent. */
  async destroyClient(clientId: string): Promise<void> {
    await this.command(clientId, { cmd: Cmd.Destroy });
  }

  // ---- uids ------------------------------------------------------------------------------------------

  /** Binds a uid to a client (a client has one uid, a uid may have many clients). */
  async bindUid(clientId: string, uid: Id): Promise<void> {
    const text = id(uid, 'uid');
    await this.command(clientId, { cmd: Cmd.BindUid, ext: encodeRequest({ uid: text }) });
    // In a worker with a session store: the uid's stored session is merged in before bindUid resolves.
    if (this.local?.uidBound) await this.local.uidBound(clientId, text);
  }

  /** Removes the client's uid binding (`uid` is accepted for PHP compatibility and not checked). */
  async unbindUid(clientId: string, uid?: Id): Promise<void> {
    void uid;
    await this.command(clientId, { cmd: Cmd.UnbindUid });
  }

  async isUidOnline(uid: Id): Promise<boolean> {
    return (await this.getClientIdByUid(uid)).length > 0;
  }

  /** `{uid: online}` for each uid. */
  async isUidsOnline(uids: Id[]): Promise<Record<string, boolean>> {
    const byUid = await this.batchGetClientIdByUid(uids);
    return Object.fromEntries(Object.entries(byUid).map(([uid, ids]) => [uid, ids.length > 0]));
  }

  /** The client_ids bound to a uid, on every gateway. */
  async getClientIdByUid(uid: Id): Promise<string[]> {
    const parts = await this.query<string[]>('getClientIdByUid', Cmd.GetClientIdByUid, { uid: id(uid, 'uid') });
    return parts.flat();
  }

  /** `{uid: client_ids}`, one key per uid asked for. */
  async batchGetClientIdByUid(uids: Id[]): Promise<Record<string, string[]>> {
    const list = idList(uids, 'uid');
    const out: Record<string, string[]> = Object.fromEntries(list.map((u) => [u, [] as string[]]));
    if (list.length === 0) return out;
    for (const part of await this.query<Record<string, string[]>>('batchGetClientIdByUid', Cmd.BatchGetClientIdByUid, { uids: list })) {
      for (const [uid, ids] of Object.entries(part)) (out[uid] ??= []).push(...ids);
    }
    return out;
  }

  /** The uid bound to a client, or null. */
  async getUidByClientId(clientId: string): Promise<string | null> {
    return (await this.request(clientId, Cmd.Select, { select: 'uid' })) as string | null;
  }

  /** Every bound uid (each once). */
  async getAllUidList(): Promise<string[]> {
    return union(await this.query<string[]>('getAllUidList', Cmd.Select, { select: 'uids' }));
  }

  async getAllUidCount(): Promise<number> {
    return (await this.getAllUidList()).length;
  }

  /** The uids of the members of a group (or groups), each once. */
  async getUidListByGroup(group: Id | Id[]): Promise<string[]> {
    const groups = idList(group, 'group');
    if (groups.length === 0) return [];
    return union(await this.query<string[]>('getUidListByGroup', Cmd.Select, { select: 'uids', groups }));
  }

  async getUidCountByGroup(group: Id): Promise<number> {
    return (await this.getUidListByGroup(group)).length;
  }

  // ---- groups ----------------------------------------------------------------------------------------

  async joinGroup(clientId: string, group: Id): Promise<void> {
    await this.command(clientId, { cmd: Cmd.JoinGroup, ext: encodeRequest({ group: id(group, 'group') }) });
  }

  async leaveGroup(clientId: string, group: Id): Promise<void> {
    await this.command(clientId, { cmd: Cmd.LeaveGroup, ext: encodeRequest({ group: id(group, 'group') }) });
  }

  /** Dissolves a group on every gateway: its members stay online, outside the group. */
  async ungroup(group: Id): Promise<void> {
    const ext = encodeRequest({ group: id(group, 'group') });
    const bytes = encodeFrame(frame({ cmd: Cmd.Ungroup, ext }));
    await this.fanOut('ungroup', await this.gateways(), () => bytes);
  }

  /** Every group with at least one member. */
  async getAllGroupIdList(): Promise<string[]> {
    return union(await this.query<string[]>('getAllGroupIdList', Cmd.GetGroupIdList, {}));
  }

  /** The client_ids of the members of a group (or groups, each client once). */
  async getClientIdListByGroup(group: Id | Id[]): Promise<string[]> {
    const groups = idList(group, 'group');
    if (groups.length === 0) return [];
    return (await this.query<string[]>('getClientIdListByGroup', Cmd.Select, { select: 'clientIds', groups })).flat();
  }

  async getClientCountByGroup(group: Id): Promise<number> {
    return sum(await this.query<number>('getClientCountByGroup', Cmd.GetClientCountByGroup, { group: id(group, 'group') }));
  }

  /** `{group: member count}`, one key per group asked for. */
  async batchGetClientIdCountByGroup(groups: Id[]): Promise<Record<string, number>> {
    const list = idList(groups, 'group');
    if (list.length === 0) return {};
    return sumMaps(list, await this.query<Record<string, number>>('batchGetClientIdCountByGroup', Cmd.BatchGetClientCountByGroup, { groups: list }));
  }

  /** `{group: client_ids}` for every group. */
  async getAllGroupClientIdList(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const part of await this.query<Record<string, string[]>>('getAllGroupClientIdList', Cmd.Select, { select: 'groupClientIds' })) {
      for (const [group, ids] of Object.entries(part)) (out[group] ??= []).push(...ids);
    }
    return out;
  }

  /** `{group: member count}` for every group. */
  async getAllGroupClientIdCount(): Promise<Record<string, number>> {
    return sumMaps([], await this.query<Record<string, number>>('getAllGroupClientIdCount', Cmd.BatchGetClientCountByGroup, {}));
  }

  /** `{group: uids}` for every group (each uid once per group). */
  async getAllGroupUidList(): Promise<Record<string, string[]>> {
    const sets = new Map<string, Set<string>>();
    for (const part of await this.query<Record<string, string[]>>('getAllGroupUidList', Cmd.Select, { select: 'groupUids' })) {
      for (const [group, uids] of Object.entries(part)) {
        let set = sets.get(group);
        if (!set) sets.set(group, (set = new Set()));
        for (const uid of uids) set.add(uid);
      }
    }
    return Object.fromEntries([...sets].map(([group, set]) => [group, [...set]]));
  }

  /** `{group: number of distinct uids}` for every group. */
  async getAllGroupUidCount(): Promise<Record<string, number>> {
    const lists = await this.getAllGroupUidList();
    return Object.fromEntries(Object.entries(lists).map(([group, uids]) => [group, uids.length]));
  }

  // ---- sessions --------------------------------------------------------------------------------------

  /**
   * Replaces a client's whole session. In a worker, if that client's handler is running, its `@Session()`
   * object is replaced too, so the automatic write-back after the handler keeps the new session.
   */
  async setSession(clientId: string, session: ClientSession | null): Promise<void> {
    checkSession(session);
    const active = this.local?.activeSession(clientId);
    if (active) {
      for (const key of Object.keys(active)) delete active[key];
      Object.assign(active, session ?? {});
    }
    await this.command(clientId, { cmd: Cmd.SetSession, ext: Buffer.from(JSON.stringify(session)) });
    this.local?.sessionWritten?.(clientId);
  }

  /**
   * Merges into a client's session: nested objects merge key by key; arrays and other values replace what was
   * there. In a worker, a running handler's `@Session()` object gets the same merge.
   */
  async updateSession(clientId: string, session: ClientSession): Promise<void> {
    checkSession(session);
    if (session === null) throw new GatewayArgumentError('updateSession needs an object');
    const active = this.local?.activeSession(clientId);
    if (active) Object.assign(active, mergeSession(active, session));
    await this.command(clientId, { cmd: Cmd.UpdateSession, ext: Buffer.from(JSON.stringify(session)) });
    this.local?.sessionWritten?.(clientId);
  }

  /** A client's session (`{}` if it has none), or null when the client is not online. */
  async getSession(clientId: string): Promise<ClientSession | null> {
    return (await this.request(clientId, Cmd.GetSessionByClientId, {})) as ClientSession | null;
  }

  /** `{client_id: session}` of every client, or of a group's members. */
  async getAllClientSessions(group?: Id | null): Promise<Record<string, ClientSession>> {
    if (group !== undefined && group !== null && group !== '') return this.getClientSessionsByGroup(group);
    return this.mergeSessions(await this.query<Record<string, ClientSession>>('getAllClientSessions', Cmd.GetAllClientSessions, {}));
  }

  /** `{client_id: session}` of a group's members. */
  async getClientSessionsByGroup(group: Id): Promise<Record<string, ClientSession>> {
    const parts = await this.query<Record<string, ClientSession>>('getClientSessionsByGroup', Cmd.GetClientSessionsByGroup, {
      group: id(group, 'group'),
    });
    return this.mergeSessions(parts);
  }

  // ---- clients ---------------------------------------------------------------------------------------

  async isOnline(clientId: string): Promise<boolean> {
    return (await this.request(clientId, Cmd.IsOnline, {})) === true;
  }

  /** Number of online clients on every gateway. */
  async getAllClientCount(): Promise<number> {
    return sum(await this.query<number>('getAllClientCount', Cmd.GetClientCountByGroup, {}));
  }

  /** Every online client_id. */
  async getAllClientIdList(): Promise<string[]> {
    return (await this.query<string[]>('getAllClientIdList', Cmd.Select, { select: 'clientIds' })).flat();
  }

  // ---- statistics ------------------------------------------------------------------------------------

  /** A client's connection statistics (connected at, messages in and out, listener, uid, groups), or null when offline. */
  async getClientInfo(clientId: string): Promise<ClientInfo | null> {
    return (await this.request(clientId, Cmd.GetClientInfo, {})) as ClientInfo | null;
  }

  /**
   * The statistics of every gateway (connections, workers, uptime, counters, memory), one entry per gateway that
   * answered; a gateway that fails is left out and reported like any multi-gateway call.
   */
  async getGatewayStats(): Promise<GatewayStats[]> {
    return this.query<GatewayStats>('getGatewayStats', Cmd.GetGatewayStats, {});
  }

  // ---- plumbing --------------------------------------------------------------------------------------

  private gateways(): Promise<string[]> {
    return this.links.gateways(this.settings.timeoutMs);
  }

  /** A fire-and-forget command to the gateway that holds the client. */
  private async command(clientId: string, fields: Partial<GatewayFrame> & { cmd: Cmd }): Promise<void> {
    const target = decodeClientId(clientId);
    const bytes = encodeFrame(frame({ ...fields, connectionId: target.connectionId }));
    await this.links.deliver(gatewayAddress(target), bytes, this.settings.timeoutMs);
  }

  /** A request to the gateway that holds the client. */
  private async request(clientId: string, cmd: Cmd, params: GatewayRequest): Promise<unknown> {
    const target = decodeClientId(clientId);
    return this.links.request(gatewayAddress(target), { cmd, connectionId: target.connectionId }, params, this.settings.timeoutMs);
  }

  private frameBytes(cmd: Cmd, message: { flag: number; body: Buffer }, params: GatewayRequest): Buffer {
    return encodeFrame(frame({ cmd, ...message, ext: encodeRequest(params) }));
  }

  /** Writes a command to each gateway concurrently; failures are reported, the rest still delivered. */
  private async fanOut(operation: string, addresses: string[], bytesFor: (address: string) => Buffer): Promise<void> {
    const outcomes = await Promise.allSettled(
      addresses.map((address) => this.links.deliver(address, bytesFor(address), this.settings.timeoutMs)),
    );
    this.report(operation, addresses, outcomes);
  }

  /** Asks every gateway concurrently; resolves with the answers of those that answered in time. */
  private async query<T>(operation: string, cmd: Cmd, params: GatewayRequest): Promise<T[]> {
    const addresses = await this.gateways();
    const outcomes = await Promise.allSettled(
      addresses.map((address) => this.links.request(address, { cmd }, params, this.settings.timeoutMs)),
    );
    this.report(operation, addresses, outcomes);
    return outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value as T] : []));
  }

  private report(operation: string, addresses: string[], outcomes: PromiseSettledResult<unknown>[]): void {
    const failures: GatewayFailure[] = [];
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') return;
      const failure = { operation, gatewayAddress: addresses[i], error: o.reason as Error };
      failures.push(failure);
      this.failureSubject.next(failure);
      this.warnFailure(failure);
    });
    if (failures.length > 0 && this.settings.rejectOnGatewayFailure) throw new GatewayPartialFailureError(operation, failures);
  }

  /** One log line per gateway every 10 s at most: a dead gateway under load must not flood the log. */
  private warnFailure(f: GatewayFailure): void {
    let warning = this.warnings.get(f.gatewayAddress);
    if (!warning) this.warnings.set(f.gatewayAddress, (warning = new RateLimitedWarning(this.logger, (n) => `${n} more failure(s) of this gateway since the last warning`)));
    warning.warn(`${f.operation}: gateway ${f.gatewayAddress} skipped: ${f.error.message}`);
  }

  /** Merges per-gateway session maps; a client whose handler is running here gets its live session. */
  private mergeSessions(parts: Record<string, ClientSession>[]): Record<string, ClientSession> {
    const out: Record<string, ClientSession> = Object.assign({}, ...parts) as Record<string, ClientSession>;
    if (this.local) {
      for (const clientId of Object.keys(out)) out[clientId] = this.local.activeSession(clientId) ?? out[clientId];
    }
    return out;
  }
}

function messageFields(message: ClientMessage): { flag: number; body: Buffer } {
  const outgoing = toOutgoingMessage(message);
  if (!outgoing) throw new GatewayArgumentError('message must be a string, a Buffer/Uint8Array, or a JSON-serialisable object');
  return messageFrameFields(outgoing);
}

function id(value: Id, what: 'uid' | 'group'): string {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string' || text === '') {
    throw new GatewayArgumentError(`${what} must be a non-empty string or a number, got ${JSON.stringify(value)}`);
  }
  return text;
}

function idList(value: Id | Id[], what: 'uid' | 'group'): string[] {
  return [...new Set((Array.isArray(value) ? value : [value]).map((v) => id(v, what)))];
}

function checkSession(session: unknown): void {
  if (session !== null && (typeof session !== 'object' || Array.isArray(session))) {
    throw new GatewayArgumentError('a session must be a plain object (or null for setSession)');
  }
}

/** client_ids grouped by the gateway that holds them: address → connection ids. Throws for malformed ids. */
function groupByGateway(clientIds: string[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const clientId of clientIds) {
    const a: ClientAddress = decodeClientId(clientId);
    const address = gatewayAddress(a);
    let ids = out.get(address);
    if (!ids) out.set(address, (ids = []));
    ids.push(a.connectionId);
  }
  return out;
}

function union(lists: string[][]): string[] {
  return [...new Set(lists.flat())];
}

function sum(counts: number[]): number {
  return counts.reduce((a, b) => a + b, 0);
}

function sumMaps(keys: string[], parts: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
  for (const part of parts) for (const [k, n] of Object.entries(part)) out[k] = (out[k] ?? 0) + n;
  return out;
}

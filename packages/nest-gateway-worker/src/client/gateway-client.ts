import type { Observable } from 'rxjs';
import { decodeClientId, gatewayAddress, gatewayAddressOf, type ClientAddress } from '../protocol/client-id';
import { messageFrameFields, toOutgoingMessage } from '../protocol/client-message';
import { isSendableCloseCode } from '../protocol/close-reason';
import { Cmd } from '../protocol/command';
import type { ClientInfo, GatewayStats } from '../protocol/connection-stats';
import { mergeSession } from '../protocol/session-json';
import { encodeFrame, frame } from '../protocol/frame';
import { encodeRequest, type GatewayRequest } from '../protocol/gateway-request';
import type { RegisterStatus } from '../register/register-client';
import type { BackplaneStatus, BackplaneStatusSource } from './backplane-status';
import type { HistoryAppendOptions, HistoryPosition, HistoryRecovery, HistoryStore } from '../backplane/history-store';
import { formatHistoryPosition } from '../backplane/history-position';
import type { ConfirmOption, DeliveryReceipt, SendOptions } from './delivery-receipt';
import { deliveredFields, historyStreamOf, keptMessage, type KeptMessage } from './history-message';
import { HistoryReplay } from './history-replay';
import {
  DEFAULT_RECOVER_LIMIT,
  type HistorySendOptions,
  type HistorySent,
  type RecoverOptions,
  type RecoverResult,
} from './history-options';
import { GatewayCalls, type GatewayClientSettings } from './gateway-calls';
import { GatewayArgumentError, type GatewayFailure } from './gateway-errors';
import type { GatewayLinkPool } from './gateway-link-pool';
import { shownValue } from '../protocol/shown-value';

/** A message for a client: string → text frame; Buffer / Uint8Array → binary frame; object or array → JSON text. */
export type ClientMessage = string | Buffer | Uint8Array | ArrayBuffer | object;
/** A uid or group id. Numbers are turned into strings, so 42 and "42" are the same id. */
export type Id = string | number;
export type ClientSession = Record<string, unknown>;

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

/** closeClient's close code and reason (WebSocket clients see them in the close frame), and `confirm`. */
export interface CloseOptions extends SendOptions {
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
 *   InvalidClientIdError. A client_id whose gateway is not registered (and not linked) is an offline client:
 *   queries answer false / null, commands do nothing and resolve. A registered gateway that cannot be reached or
 *   does not answer in time rejects with GatewayUnavailableError / GatewayTimeoutError naming it. Before the first
 *   gateway list arrived, calls wait for it (within the timeout; RegisterUnavailableError otherwise).
 * - Multi-gateway methods go to every gateway at once, each with its own time limit. A gateway that fails does
 *   not stop the others: their results are merged and returned, and the failure is logged and emitted on
 *   {@link failures} (or the call rejects with GatewayPartialFailureError when `rejectOnGatewayFailure`).
 * - Fire-and-forget methods resolve once the command is queued on the gateway's link (it leaves within the same
 *   event-loop turn, in order with everything else this client sends to that gateway). They do not wait for the
 *   gateway to act, so a gateway that hangs without closing its socket is noticed only by queries. A command
 *   whose link closes before it left this process is reported on {@link failures} (CommandNotSentError), never
 *   sent twice (at most once).
 * - Sends and closes take `{ confirm: true }`: they then resolve after the gateways executed them, with a
 *   {@link DeliveryReceipt} (connections reached, gateways that did not confirm).
 */
export class GatewayClient {
  /** How the methods reach the gateways (one or all, fire-and-forget or request), and the failure reports. */
  private readonly calls: GatewayCalls;

  /**
   * Every gateway failure of a multi-gateway call, and every fire-and-forget command lost with its link before it
   * left this process (CommandNotSentError). Also logged, at most once per gateway every 10 s.
   */
  readonly failures: Observable<GatewayFailure>;

  /** Runs `recover` (made on its first use, with the backplane's history). */
  private replay: HistoryReplay | undefined;
  private readonly backplane: BackplaneStatusSource | null;

  constructor(
    private readonly links: GatewayLinkPool,
    settings: GatewayClientSettings,
    private readonly local?: LocalSessions,
  ) {
    this.calls = new GatewayCalls(links, settings);
    this.failures = this.calls.failures;
    this.backplane = settings.backplane ?? null;
  }

  // ---- sending ---------------------------------------------------------------------------------------

  /** Sends a message to one client. With `{ confirm: true }`: resolves with delivered 1, or 0 if it is offline. */
  sendToClient(clientId: string, message: ClientMessage, options: ConfirmOption): Promise<DeliveryReceipt>;
  sendToClient(clientId: string, message: ClientMessage, options?: SendOptions & { confirm?: false }): Promise<void>;
  sendToClient(clientId: string, message: ClientMessage, options?: SendOptions): Promise<DeliveryReceipt | void>;
  async sendToClient(clientId: string, message: ClientMessage, options?: SendOptions): Promise<DeliveryReceipt | void> {
    const fields = { cmd: Cmd.SendToOne, ...messageFields(message) };
    if (options?.confirm) return this.calls.confirmedCommand(clientId, fields, {});
    await this.calls.command('sendToClient', clientId, fields);
  }

  /**
   * Sends a message to every online client; with `clientIds`, only to those (an empty list sends nothing);
   * `excludeClientIds` are skipped.
   */
  sendToAll(
    message: ClientMessage,
    clientIds: string[] | null | undefined,
    excludeClientIds: string[] | null | undefined,
    options: ConfirmOption,
  ): Promise<DeliveryReceipt>;
  sendToAll(
    message: ClientMessage,
    clientIds?: string[] | null,
    excludeClientIds?: string[] | null,
    options?: SendOptions & { confirm?: false },
  ): Promise<void>;
  sendToAll(
    message: ClientMessage,
    clientIds?: string[] | null,
    excludeClientIds?: string[] | null,
    options?: SendOptions,
  ): Promise<DeliveryReceipt | void>;
  async sendToAll(
    message: ClientMessage,
    clientIds?: string[] | null,
    excludeClientIds?: string[] | null,
    options?: SendOptions,
  ): Promise<DeliveryReceipt | void> {
    const fields = messageFields(message);
    // Per gateway: the connection ids to exclude (or, with clientIds, the only ones to send to); each gateway
    // resolves its own part, so the exclusion needs no client-side filtering.
    const exclude = groupByGateway(excludeClientIds ?? []);
    const targets = clientIds ? groupByGateway(clientIds) : null;
    const addresses = targets ? [...targets.keys()] : await this.calls.gateways();
    const params = (address: string): GatewayRequest =>
      targets
        ? { connections: targets.get(address), exclude: exclude.get(address) }
        : exclude.has(address)
          ? { exclude: exclude.get(address) }
          : {};
    if (options?.confirm)
      return this.calls.confirmedFanOut('sendToAll', addresses, { cmd: Cmd.SendToAll, ...fields }, params);
    await this.calls.fanOut('sendToAll', addresses, (address) =>
      this.calls.frameBytes(Cmd.SendToAll, fields, params(address)),
    );
  }

  /**
   * Sends a message to every connection bound to the uid (or to any of the uids). With `{ history }` (one uid, the
   * Redis backplane): keeps it in the uid's history first and sends it with its position (see {@link recover}).
   */
  sendToUid(
    uid: Id,
    message: ClientMessage,
    options: HistorySendOptions & ConfirmOption,
  ): Promise<HistorySent & DeliveryReceipt>;
  sendToUid(uid: Id, message: ClientMessage, options: HistorySendOptions): Promise<HistorySent>;
  sendToUid(uid: Id | Id[], message: ClientMessage, options: ConfirmOption): Promise<DeliveryReceipt>;
  sendToUid(uid: Id | Id[], message: ClientMessage, options?: SendOptions & { confirm?: false }): Promise<void>;
  sendToUid(uid: Id | Id[], message: ClientMessage, options?: SendOptions): Promise<DeliveryReceipt | void>;
  async sendToUid(
    uid: Id | Id[],
    message: ClientMessage,
    options?: SendOptions & Partial<HistorySendOptions>,
  ): Promise<HistorySent | DeliveryReceipt | void> {
    const uids = idList(uid, 'uid');
    if (options?.history) {
      const kept = await this.keep('uid', uids, message, options.history);
      return withReceipt(kept.sent, await this.uidSend(uids, kept.fields, options));
    }
    return this.uidSend(uids, messageFields(message), options);
  }

  private async uidSend(
    uids: string[],
    fields: { flag: number; body: Buffer },
    options?: SendOptions,
  ): Promise<DeliveryReceipt | void> {
    if (uids.length === 0) return options?.confirm ? { delivered: 0, failedGateways: [] } : undefined;
    const addresses = await this.calls.uidGateways(uids);
    if (options?.confirm)
      return this.calls.confirmedFanOut('sendToUid', addresses, { cmd: Cmd.SendToUid, ...fields }, () => ({ uids }));
    const bytes = this.calls.frameBytes(Cmd.SendToUid, fields, { uids });
    await this.calls.fanOut('sendToUid', addresses, () => bytes);
  }

  /**
   * Sends a message to the members of the group (or groups; a member of several gets it once), minus
   * `excludeClientIds`. With `{ history }` (one group, the Redis backplane): keeps it in the group's history first
   * and sends it with its position (see {@link recover}).
   */
  sendToGroup(
    group: Id,
    message: ClientMessage,
    excludeClientIds: string[] | null | undefined,
    options: HistorySendOptions & ConfirmOption,
  ): Promise<HistorySent & DeliveryReceipt>;
  sendToGroup(
    group: Id,
    message: ClientMessage,
    excludeClientIds: string[] | null | undefined,
    options: HistorySendOptions,
  ): Promise<HistorySent>;
  sendToGroup(
    group: Id | Id[],
    message: ClientMessage,
    excludeClientIds: string[] | null | undefined,
    options: ConfirmOption,
  ): Promise<DeliveryReceipt>;
  sendToGroup(
    group: Id | Id[],
    message: ClientMessage,
    excludeClientIds?: string[] | null,
    options?: SendOptions & { confirm?: false },
  ): Promise<void>;
  sendToGroup(
    group: Id | Id[],
    message: ClientMessage,
    excludeClientIds?: string[] | null,
    options?: SendOptions,
  ): Promise<DeliveryReceipt | void>;
  async sendToGroup(
    group: Id | Id[],
    message: ClientMessage,
    excludeClientIds?: string[] | null,
    options?: SendOptions & Partial<HistorySendOptions>,
  ): Promise<HistorySent | DeliveryReceipt | void> {
    const groups = idList(group, 'group');
    if (options?.history) {
      const kept = await this.keep('group', groups, message, options.history);
      return withReceipt(kept.sent, await this.groupSend(groups, kept.fields, excludeClientIds, options));
    }
    return this.groupSend(groups, messageFields(message), excludeClientIds, options);
  }

  private async groupSend(
    groups: string[],
    fields: { flag: number; body: Buffer },
    excludeClientIds?: string[] | null,
    options?: SendOptions,
  ): Promise<DeliveryReceipt | void> {
    if (groups.length === 0) return options?.confirm ? { delivered: 0, failedGateways: [] } : undefined;
    const exclude = groupByGateway(excludeClientIds ?? []);
    const params = (address: string): GatewayRequest =>
      exclude.has(address) ? { groups, exclude: exclude.get(address) } : { groups };
    const addresses = await this.calls.groupGateways(groups);
    if (options?.confirm)
      return this.calls.confirmedFanOut('sendToGroup', addresses, { cmd: Cmd.SendToGroup, ...fields }, params);
    await this.calls.fanOut('sendToGroup', addresses, (address) =>
      this.calls.frameBytes(Cmd.SendToGroup, fields, params(address)),
    );
  }

  /**
   * Closes a client's connection, after sending `message` if given: WebSocket close 1000 with no reason (PHP's
   * closeClient), or the code and reason of `close`: `closeClient(id, null, { code: 4001, reason: 'replaced' })`.
   * With `{ confirm: true }`: resolves with delivered 1 when the gateway closed the connection, 0 if it was offline.
   */
  closeClient(
    clientId: string,
    message: ClientMessage | null | undefined,
    close: CloseOptions & ConfirmOption,
  ): Promise<DeliveryReceipt>;
  closeClient(
    clientId: string,
    message?: ClientMessage | null,
    close?: CloseOptions & { confirm?: false },
  ): Promise<void>;
  closeClient(clientId: string, message?: ClientMessage | null, close?: CloseOptions): Promise<DeliveryReceipt | void>;
  async closeClient(
    clientId: string,
    message?: ClientMessage | null,
    close?: CloseOptions,
  ): Promise<DeliveryReceipt | void> {
    const outgoing = toOutgoingMessage(message);
    const body = outgoing ? messageFrameFields(outgoing) : {};
    if (close?.code !== undefined && !isSendableCloseCode(close.code)) {
      throw new GatewayArgumentError(
        `close code ${close.code} cannot be sent: use 1000, 1001, 1008, 1011, 1013 or 3000-4999`,
      );
    }
    if (close?.reason !== undefined && typeof close.reason !== 'string')
      throw new GatewayArgumentError('close reason must be a string');
    const plain = close?.code === undefined && close?.reason === undefined;
    const fields = plain ? { cmd: Cmd.Kick, ...body } : { cmd: Cmd.CloseWithReason, ...body };
    const params: GatewayRequest = plain ? {} : { code: close!.code, reason: close!.reason };
    if (close?.confirm) return this.calls.confirmedCommand(clientId, fields, params);
    await this.calls.command('closeClient', clientId, plain ? fields : { ...fields, ext: encodeRequest(params) });
  }

  /** Drops a client's connection at once, discarding anything not yet sent. */
  destroyClient(clientId: string, options: ConfirmOption): Promise<DeliveryReceipt>;
  destroyClient(clientId: string, options?: SendOptions & { confirm?: false }): Promise<void>;
  destroyClient(clientId: string, options?: SendOptions): Promise<DeliveryReceipt | void>;
  async destroyClient(clientId: string, options?: SendOptions): Promise<DeliveryReceipt | void> {
    if (options?.confirm) return this.calls.confirmedCommand(clientId, { cmd: Cmd.Destroy }, {});
    await this.calls.command('destroyClient', clientId, { cmd: Cmd.Destroy });
  }

  // ---- uids ------------------------------------------------------------------------------------------

  /** Binds a uid to a client (a client has one uid, a uid may have many clients). */
  async bindUid(clientId: string, uid: Id): Promise<void> {
    const text = id(uid, 'uid');
    const online = await this.calls.command('bindUid', clientId, {
      cmd: Cmd.BindUid,
      ext: encodeRequest({ uid: text }),
    });
    // With a backplane: this client's next sends to the uid include that gateway (the directory may lag).
    if (online) this.calls.targeting.uidBound(text, gatewayAddressOf(clientId));
    // In a worker with a session store: the uid's stored session is merged in before bindUid resolves.
    if (online && this.local?.uidBound) await this.local.uidBound(clientId, text);
  }

  /** Removes the client's uid binding (`uid` is accepted for PHP compatibility and not checked). */
  async unbindUid(clientId: string, uid?: Id): Promise<void> {
    void uid;
    await this.calls.command('unbindUid', clientId, { cmd: Cmd.UnbindUid });
  }

  /** Whether any connection is bound to the uid. With a backplane: answered by the presence directory. */
  async isUidOnline(uid: Id): Promise<boolean> {
    const text = id(uid, 'uid');
    const known = await this.calls.targeting.onlineUids([text], await this.calls.gateways());
    // No directory: PHP's way (getClientIdByUid on every gateway).
    if (known === null) return (await this.getClientIdByUid(text)).length > 0;
    if (known.online.has(text) || known.ask.length === 0) return known.online.has(text);
    const parts = await this.calls.query<string[]>('isUidOnline', Cmd.GetClientIdByUid, { uid: text }, known.ask);
    return parts.some((ids) => ids.length > 0);
  }

  /**
   * `{uid: online}` for each uid. With a backplane the presence directory answers, and only gateways it cannot
   * vouch for are asked (none, normally); without one (or when Redis cannot answer in time), every gateway.
   */
  async isUidsOnline(uids: Id[]): Promise<Record<string, boolean>> {
    const list = idList(uids, 'uid');
    if (list.length === 0) return {};
    const known = await this.calls.targeting.onlineUids(list, await this.calls.gateways());
    if (known === null) {
      const byUid = await this.batchGetClientIdByUid(list);
      return Object.fromEntries(Object.entries(byUid).map(([uid, ids]) => [uid, ids.length > 0]));
    }
    const out: Record<string, boolean> = Object.fromEntries(list.map((u) => [u, known.online.has(u)]));
    const unsure = list.filter((u) => !known.online.has(u));
    if (unsure.length > 0 && known.ask.length > 0) {
      for (const part of await this.calls.query<Record<string, string[]>>(
        'isUidsOnline',
        Cmd.BatchGetClientIdByUid,
        { uids: unsure },
        known.ask,
      )) {
        for (const [uid, ids] of Object.entries(part)) if (ids.length > 0) out[uid] = true;
      }
    }
    return out;
  }

  /** The client_ids bound to a uid, on every gateway (with a backplane: on the gateways that hold it). */
  async getClientIdByUid(uid: Id): Promise<string[]> {
    const text = id(uid, 'uid');
    const parts = await this.calls.query<string[]>(
      'getClientIdByUid',
      Cmd.GetClientIdByUid,
      { uid: text },
      this.calls.uidGateways([text]),
    );
    return parts.flat();
  }

  /** `{uid: client_ids}`, one key per uid asked for. */
  async batchGetClientIdByUid(uids: Id[]): Promise<Record<string, string[]>> {
    const list = idList(uids, 'uid');
    const out: Record<string, string[]> = Object.fromEntries(list.map((u) => [u, [] as string[]]));
    if (list.length === 0) return out;
    for (const part of await this.calls.query<Record<string, string[]>>(
      'batchGetClientIdByUid',
      Cmd.BatchGetClientIdByUid,
      { uids: list },
      this.calls.uidGateways(list),
    )) {
      for (const [uid, ids] of Object.entries(part)) (out[uid] ??= []).push(...ids);
    }
    return out;
  }

  /** The uid bound to a client, or null. */
  async getUidByClientId(clientId: string): Promise<string | null> {
    return (await this.calls.request(clientId, Cmd.Select, { select: 'uid' }, null)) as string | null;
  }

  /** Every bound uid (each once). */
  async getAllUidList(): Promise<string[]> {
    return union(await this.calls.query<string[]>('getAllUidList', Cmd.Select, { select: 'uids' }));
  }

  async getAllUidCount(): Promise<number> {
    return (await this.getAllUidList()).length;
  }

  /** The uids of the members of a group (or groups), each once. */
  async getUidListByGroup(group: Id | Id[]): Promise<string[]> {
    const groups = idList(group, 'group');
    if (groups.length === 0) return [];
    return union(
      await this.calls.query<string[]>(
        'getUidListByGroup',
        Cmd.Select,
        { select: 'uids', groups },
        this.calls.groupGateways(groups),
      ),
    );
  }

  async getUidCountByGroup(group: Id): Promise<number> {
    return (await this.getUidListByGroup(group)).length;
  }

  // ---- groups ----------------------------------------------------------------------------------------

  async joinGroup(clientId: string, group: Id): Promise<void> {
    const text = id(group, 'group');
    const online = await this.calls.command('joinGroup', clientId, {
      cmd: Cmd.JoinGroup,
      ext: encodeRequest({ group: text }),
    });
    // With a backplane: this client's next sends to the group include that gateway (the directory may lag).
    if (online) this.calls.targeting.groupJoined(text, gatewayAddressOf(clientId));
  }

  async leaveGroup(clientId: string, group: Id): Promise<void> {
    await this.calls.command('leaveGroup', clientId, {
      cmd: Cmd.LeaveGroup,
      ext: encodeRequest({ group: id(group, 'group') }),
    });
  }

  /** Dissolves a group on every gateway (that holds members of it): its members stay online, outside the group. */
  async ungroup(group: Id): Promise<void> {
    const text = id(group, 'group');
    const bytes = encodeFrame(frame({ cmd: Cmd.Ungroup, ext: encodeRequest({ group: text }) }));
    await this.calls.fanOut('ungroup', await this.calls.groupGateways([text]), () => bytes);
  }

  /** Every group with at least one member. */
  async getAllGroupIdList(): Promise<string[]> {
    return union(await this.calls.query<string[]>('getAllGroupIdList', Cmd.GetGroupIdList, {}));
  }

  /** The client_ids of the members of a group (or groups, each client once). */
  async getClientIdListByGroup(group: Id | Id[]): Promise<string[]> {
    const groups = idList(group, 'group');
    if (groups.length === 0) return [];
    return (
      await this.calls.query<string[]>(
        'getClientIdListByGroup',
        Cmd.Select,
        { select: 'clientIds', groups },
        this.calls.groupGateways(groups),
      )
    ).flat();
  }

  async getClientCountByGroup(group: Id): Promise<number> {
    const text = id(group, 'group');
    return sum(
      await this.calls.query<number>(
        'getClientCountByGroup',
        Cmd.GetClientCountByGroup,
        { group: text },
        this.calls.groupGateways([text]),
      ),
    );
  }

  /** `{group: member count}`, one key per group asked for. */
  async batchGetClientIdCountByGroup(groups: Id[]): Promise<Record<string, number>> {
    const list = idList(groups, 'group');
    if (list.length === 0) return {};
    return sumMaps(
      list,
      await this.calls.query<Record<string, number>>(
        'batchGetClientIdCountByGroup',
        Cmd.BatchGetClientCountByGroup,
        { groups: list },
        this.calls.groupGateways(list),
      ),
    );
  }

  /** `{group: client_ids}` for every group. */
  async getAllGroupClientIdList(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const part of await this.calls.query<Record<string, string[]>>('getAllGroupClientIdList', Cmd.Select, {
      select: 'groupClientIds',
    })) {
      for (const [group, ids] of Object.entries(part)) (out[group] ??= []).push(...ids);
    }
    return out;
  }

  /** `{group: member count}` for every group. */
  async getAllGroupClientIdCount(): Promise<Record<string, number>> {
    return sumMaps(
      [],
      await this.calls.query<Record<string, number>>('getAllGroupClientIdCount', Cmd.BatchGetClientCountByGroup, {}),
    );
  }

  /** `{group: uids}` for every group (each uid once per group). */
  async getAllGroupUidList(): Promise<Record<string, string[]>> {
    const sets = new Map<string, Set<string>>();
    for (const part of await this.calls.query<Record<string, string[]>>('getAllGroupUidList', Cmd.Select, {
      select: 'groupUids',
    })) {
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
    const online = await this.calls.command('setSession', clientId, {
      cmd: Cmd.SetSession,
      ext: Buffer.from(JSON.stringify(session)),
    });
    if (online) this.local?.sessionWritten?.(clientId);
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
    const online = await this.calls.command('updateSession', clientId, {
      cmd: Cmd.UpdateSession,
      ext: Buffer.from(JSON.stringify(session)),
    });
    if (online) this.local?.sessionWritten?.(clientId);
  }

  /** A client's session (`{}` if it has none), or null when the client is not online. */
  async getSession(clientId: string): Promise<ClientSession | null> {
    return (await this.calls.request(clientId, Cmd.GetSessionByClientId, {}, null)) as ClientSession | null;
  }

  /** `{client_id: session}` of every client, or of a group's members. */
  async getAllClientSessions(group?: Id | null): Promise<Record<string, ClientSession>> {
    if (group !== undefined && group !== null && group !== '') return this.getClientSessionsByGroup(group);
    return this.mergeSessions(
      await this.calls.query<Record<string, ClientSession>>('getAllClientSessions', Cmd.GetAllClientSessions, {}),
    );
  }

  /** `{client_id: session}` of a group's members. */
  async getClientSessionsByGroup(group: Id): Promise<Record<string, ClientSession>> {
    const text = id(group, 'group');
    const parts = await this.calls.query<Record<string, ClientSession>>(
      'getClientSessionsByGroup',
      Cmd.GetClientSessionsByGroup,
      { group: text },
      this.calls.groupGateways([text]),
    );
    return this.mergeSessions(parts);
  }

  // ---- clients ---------------------------------------------------------------------------------------

  async isOnline(clientId: string): Promise<boolean> {
    return (await this.calls.request(clientId, Cmd.IsOnline, {}, false)) === true;
  }

  /** Number of online clients on every gateway. */
  async getAllClientCount(): Promise<number> {
    return sum(await this.calls.query<number>('getAllClientCount', Cmd.GetClientCountByGroup, {}));
  }

  /** Every online client_id. */
  async getAllClientIdList(): Promise<string[]> {
    return (await this.calls.query<string[]>('getAllClientIdList', Cmd.Select, { select: 'clientIds' })).flat();
  }

  // ---- history (with the Redis backplane) ------------------------------------------------------------

  /**
   * The lower level of `sendToUid` / `sendToGroup` with `{ history }`: appends a message to the history of a uid or
   * group (Redis Streams; needs the backplane) and resolves with its position `{ offset, epoch }`, sending nothing
   * (deliver it your own way). Kept as a history send keeps it (an object as JSON without `$offset`, binary as
   * binary), so {@link recover} replays it the same way.
   */
  async appendHistory(
    kind: 'uid' | 'group',
    target: Id,
    message: ClientMessage,
    options?: HistoryAppendOptions,
  ): Promise<HistoryPosition> {
    const kept = keptMessage(message);
    return this.historyStore('appendHistory').append(kind, id(target, kind), kept.body, {
      ...options,
      format: kept.format,
    });
  }

  /**
   * Reads a uid's or group's history without sending anything (e.g. to show the last messages on a page): the
   * entries after `since` (null: from the oldest kept), at most `limit` (default 100), with `recovered: false` when
   * that position is gone (another epoch, or trimmed) and `more: true` when more follow. Needs the backplane.
   */
  async recoverHistory(
    kind: 'uid' | 'group',
    target: Id,
    since: HistoryPosition | null,
    limit?: number,
  ): Promise<HistoryRecovery> {
    return this.historyStore('recoverHistory').recover(kind, id(target, kind), since, limit);
  }

  /**
   * For a connect or login handler: makes the client a member of the uid (bindUid) or group (joinGroup), then
   * sends it, in order, what the target's history holds after `since`: the position the client reported (the
   * `?resume=` query parameter the client library sends when it reconnects, `<epoch>:<offset>`). Resolves with
   * `recovered` (true: the client has missed nothing; false, with a `reason`: it must resynchronise another way),
   * the number replayed, and the stream's current `position` (give it to the client, e.g. in your welcome message's
   * `$offset`, so that it has a position even if nothing is sent before it drops again).
   *
   * No message is lost between the replay and live delivery: membership comes first (confirmed by a round trip to
   * the client's gateway, and visible in the presence directory), then the stream is read up to its top and
   * replayed; what is kept after that read is sent live to the client. A message may arrive both ways, with the
   * same `$offset` and text (the client library drops such duplicates).
   * Problems are answered as data, never thrown: a malformed `since` (a stranger's input) is `recovered: false,
   * reason: 'no-position'`; Redis failing is `reason: 'unavailable'` (the membership done). See HistoryReplay.
   */
  async recover(
    clientId: string,
    kind: 'uid' | 'group',
    target: Id,
    since: string | HistoryPosition | null | undefined,
    options: RecoverOptions = {},
  ): Promise<RecoverResult> {
    const store = this.historyStore('recover');
    const text = id(target, kind);
    const limit = options.limit ?? DEFAULT_RECOVER_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000)
      throw new GatewayArgumentError('recover limit must be an integer from 1 to 1000000');
    decodeClientId(clientId); // a malformed client_id: InvalidClientIdError before anything is done
    this.replay ??= new HistoryReplay(store, {
      join: (c, k, t) => (k === 'uid' ? this.bindUid(c, t) : this.joinGroup(c, t)),
      isOnline: (c) => this.isOnline(c),
      reaches: (c, k, t) => this.calls.targeting.reaches(k, t, gatewayAddressOf(c)),
      send: async (c, fields) => {
        await this.calls.command('recover', c, { cmd: Cmd.SendToOne, ...fields });
      },
    });
    return this.replay.recover(clientId, kind, text, since, limit);
  }

  /** Keeps a message in the history of its one target; its position and the frame fields that carry it. */
  private async keep(
    kind: 'uid' | 'group',
    targets: string[],
    message: ClientMessage,
    history: HistorySendOptions['history'],
  ): Promise<{ sent: HistorySent; fields: { flag: number; body: Buffer } }> {
    if (targets.length !== 1)
      throw new GatewayArgumentError(`a send with history needs exactly one ${kind}: each has its own history`);
    const store = this.historyStore(kind === 'uid' ? 'sendToUid with history' : 'sendToGroup with history');
    const kept: KeptMessage = keptMessage(message);
    const at = await store.append(kind, targets[0], kept.body, {
      ...(history === true ? {} : history),
      format: kept.format,
    });
    const position = formatHistoryPosition(at);
    return { sent: { ...at, position }, fields: deliveredFields(kept, position, historyStreamOf(kind, targets[0])) };
  }

  private historyStore(method: string): HistoryStore {
    if (!this.calls.history)
      throw new GatewayArgumentError(`${method} needs the Redis backplane (GATEWAY_BACKPLANE / the backplane option)`);
    return this.calls.history;
  }

  // ---- statistics ------------------------------------------------------------------------------------

  /** A client's connection statistics (connected at, messages in and out, listener, uid, groups), or null when offline. */
  async getClientInfo(clientId: string): Promise<ClientInfo | null> {
    return (await this.calls.request(clientId, Cmd.GetClientInfo, {}, null)) as ClientInfo | null;
  }

  /**
   * The statistics of every gateway (connections, workers, uptime, counters, memory), one entry per gateway that
   * answered; a gateway that fails is left out and reported like any multi-gateway call.
   */
  async getGatewayStats(): Promise<GatewayStats[]> {
    return this.calls.query<GatewayStats>('getGatewayStats', Cmd.GetGatewayStats, {});
  }

  /**
   * The registers this client learns the gateways from: whether its link to each is open now and the gateways
   * each listed last. Answered locally (no gateway or register is asked), so it never fails.
   */
  async getRegisterStatus(): Promise<RegisterStatus[]> {
    return this.links.directory.registers();
  }

  /**
   * The Redis backplane this client uses (its URL as displayed, never the password; the gateways with a live lease
   * there; directory reads and fallbacks), or null without one. Answered locally, so it never fails.
   */
  getBackplaneStatus(): BackplaneStatus | null {
    const b = this.backplane;
    if (!b) return null;
    const { reads, narrowed, fallbacks } = b.stats;
    const gateways = [...(this.links.directory.sourceList(b.watch.name) ?? [])].sort();
    return { url: b.display, gateways, reads, narrowed, fallbacks };
  }

  // ---- sessions of running handlers --------------------------------------------------------------------

  /** Merges per-gateway session maps; a client whose handler is running here gets its live session. */
  private mergeSessions(parts: Record<string, ClientSession>[]): Record<string, ClientSession> {
    const out: Record<string, ClientSession> = Object.assign({}, ...parts) as Record<string, ClientSession>;
    if (this.local) {
      for (const clientId of Object.keys(out)) out[clientId] = this.local.activeSession(clientId) ?? out[clientId];
    }
    return out;
  }
}

function withReceipt(
  sent: HistorySent,
  receipt: DeliveryReceipt | void,
): HistorySent | (HistorySent & DeliveryReceipt) {
  return receipt ? { ...receipt, ...sent } : sent;
}

function messageFields(message: ClientMessage): { flag: number; body: Buffer } {
  const outgoing = toOutgoingMessage(message);
  if (!outgoing)
    throw new GatewayArgumentError('message must be a string, a Buffer/Uint8Array, or a JSON-serialisable object');
  return messageFrameFields(outgoing);
}

function id(value: Id, what: 'uid' | 'group'): string {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string' || text === '') {
    throw new GatewayArgumentError(`${what} must be a non-empty string or a number, got ${shownValue(value)}`);
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

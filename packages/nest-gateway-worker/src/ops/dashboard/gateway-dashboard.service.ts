import { BadRequestException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { GatewayClient, type ClientSession } from '../../client/gateway-client';
import { isClientId } from '../../protocol/client-id';
import type { ClientInfo } from '../../protocol/connection-stats';
import type {
  DashboardClient,
  DashboardGateway,
  DashboardGroups,
  DashboardKicked,
  DashboardOverview,
  DashboardSent,
  DashboardUid,
} from './dashboard-api';
import {
  DEFAULT_DASHBOARD_GROUP_LIMIT,
  DEFAULT_DASHBOARD_UID_CLIENT_LIMIT,
  GATEWAY_DASHBOARD_OPTIONS,
  type ResolvedGatewayDashboardOptions,
} from './dashboard-options';
import { MessageRates } from './message-rates';

/** The close a kick from the dashboard sends (the operator may type another reason). */
export const DASHBOARD_KICK_CLOSE = { code: 1000, reason: 'closed from the gateway dashboard' } as const;
/** Longest kick reason, in characters (the gateway cuts a close reason to 123 bytes anyway). */
export const MAX_KICK_REASON_CHARS = 123;

/**
 * What the dashboard shows and does, through the app's GatewayClient only: the overview (registers, gateways with
 * message rates, totals), groups, a client lookup by client_id or uid, and the two actions (send, kick). Actions
 * are logged with the client_id and the message's length, never its content.
 */
@Injectable()
export class GatewayDashboardService {
  private readonly logger = new Logger('GatewayDashboard');
  private readonly rates = new MessageRates();

  constructor(
    @Inject(GatewayClient) private readonly gw: GatewayClient,
    @Inject(GATEWAY_DASHBOARD_OPTIONS) private readonly options: ResolvedGatewayDashboardOptions,
  ) {}

  /** Registers, every gateway that answered (with rates), the listed ones that did not, and totals. */
  async overview(): Promise<DashboardOverview> {
    const registers = await this.gw.getRegisterStatus();
    const [stats, uids, groups] = await Promise.allSettled([
      this.gw.getGatewayStats(),
      this.gw.getAllUidCount(),
      this.gw.getAllGroupIdList(),
    ]);
    const errors: string[] = [];
    const settled = <T>(what: string, result: PromiseSettledResult<T>): T | null => {
      if (result.status === 'fulfilled') return result.value;
      const err = result.reason as Error;
      errors.push(`${what}: ${err?.message ?? String(err)}`);
      return null;
    };
    const answered = (settled('gateway statistics', stats) ?? []).sort((a, b) => a.address.localeCompare(b.address));
    const rates = this.rates.update(answered);
    const gateways: DashboardGateway[] = answered.map((s) => ({ ...s, ...rates.get(s.address)! }));
    const byRegisters = new Set(registers.flatMap((r) => r.gateways ?? []));
    const backplane = this.gw.getBackplaneStatus();
    const listed = new Set([...byRegisters, ...(backplane?.gateways ?? [])]);
    for (const g of gateways) listed.delete(g.address);
    const total = (pick: (g: DashboardGateway) => number | null): number | null =>
      gateways.some((g) => pick(g) === null) ? null : gateways.reduce((n, g) => n + pick(g)!, 0);
    const uidCount = settled('uid count', uids);
    const groupList = settled('group list', groups);
    return {
      generatedAt: Date.now(),
      refreshIntervalMs: this.options.refreshIntervalMs,
      registers,
      gateways,
      unreachableGateways: [...listed].sort(),
      backplane: backplane && {
        ...backplane,
        onlyInRedis: backplane.gateways.filter((a) => !byRegisters.has(a)),
        onlyInRegisters: [...byRegisters].filter((a) => !backplane.gateways.includes(a)).sort(),
      },
      totals: {
        gateways: gateways.length,
        connections: gateways.reduce((n, g) => n + g.connections, 0),
        uids: uidCount,
        groups: groupList === null ? null : groupList.length,
        messagesInPerSecond: total((g) => g.messagesInPerSecond),
        messagesOutPerSecond: total((g) => g.messagesOutPerSecond),
      },
      errors,
    };
  }

  /** Groups by member count (then name), at most DEFAULT_DASHBOARD_GROUP_LIMIT, with their distinct uids. */
  async groups(): Promise<DashboardGroups> {
    const [clients, uids] = await Promise.all([this.gw.getAllGroupClientIdCount(), this.gw.getAllGroupUidCount()]);
    const all = Object.entries(clients)
      .filter(([, n]) => n > 0)
      .map(([group, n]) => ({ group, clients: n, uids: uids[group] ?? 0 }))
      .sort((a, b) => b.clients - a.clients || a.group.localeCompare(b.group));
    return { total: all.length, groups: all.slice(0, DEFAULT_DASHBOARD_GROUP_LIMIT) };
  }

  /** One connection's statistics and session; 400 for a malformed client_id, 404 when it is not online. */
  async client(clientId: string): Promise<DashboardClient> {
    this.checkClientId(clientId);
    const found = await this.lookup(clientId);
    if (!found) throw new NotFoundException(`client ${clientId} is not online`);
    return found;
  }

  /** The connections bound to a uid (at most DEFAULT_DASHBOARD_UID_CLIENT_LIMIT); 404 when none is online. */
  async uid(uid: string): Promise<DashboardUid> {
    if (uid === '') throw new BadRequestException('a uid is required');
    const ids = await this.gw.getClientIdByUid(uid);
    const found = await Promise.all(ids.slice(0, DEFAULT_DASHBOARD_UID_CLIENT_LIMIT).map((id) => this.lookup(id)));
    const clients = found.filter((c): c is DashboardClient => c !== null);
    if (clients.length === 0) throw new NotFoundException(`uid ${JSON.stringify(uid)} is not online`);
    return { uid, total: ids.length, clients };
  }

  /** Sends a text message to one client and waits for the gateway's receipt. */
  async send(clientId: string, body: unknown): Promise<DashboardSent> {
    this.checkClientId(clientId);
    const message = field(body, 'message');
    if (typeof message !== 'string' || message === '')
      throw new BadRequestException('message must be a non-empty string');
    if (message.length > this.options.maxMessageChars)
      throw new BadRequestException(`message is longer than ${this.options.maxMessageChars} characters`);
    const receipt = await this.gw.sendToClient(clientId, message, { confirm: true });
    this.logger.log(
      `dashboard: sent a message of ${message.length} character(s) to client ${clientId} (delivered: ${receipt.delivered})`,
    );
    return { clientId, delivered: receipt.delivered };
  }

  /** Closes one client's connection (1000, with the operator's reason or the default one). */
  async kick(clientId: string, body: unknown): Promise<DashboardKicked> {
    this.checkClientId(clientId);
    const given = field(body, 'reason');
    if (given !== undefined && given !== null && typeof given !== 'string')
      throw new BadRequestException('reason must be a string');
    if (typeof given === 'string' && given.length > MAX_KICK_REASON_CHARS)
      throw new BadRequestException(`reason is longer than ${MAX_KICK_REASON_CHARS} characters`);
    const reason = typeof given === 'string' && given.trim() !== '' ? given.trim() : DASHBOARD_KICK_CLOSE.reason;
    const receipt = await this.gw.closeClient(clientId, null, {
      code: DASHBOARD_KICK_CLOSE.code,
      reason,
      confirm: true,
    });
    const closed = receipt.delivered > 0;
    this.logger.log(`dashboard: kicked client ${clientId} (${closed ? 'closed' : 'it was not online'})`);
    return { clientId, closed };
  }

  private checkClientId(clientId: string): void {
    if (!isClientId(clientId))
      throw new BadRequestException(`not a client_id: ${JSON.stringify(clientId)} (expected 20 hex characters)`);
  }

  /** Statistics and session of one client_id, or null when it is offline (also when it left between the two). */
  private async lookup(clientId: string): Promise<DashboardClient | null> {
    const [client, session]: [ClientInfo | null, ClientSession | null] = await Promise.all([
      this.gw.getClientInfo(clientId),
      this.gw.getSession(clientId),
    ]);
    return client ? { client, session: session ?? {} } : null;
  }
}

/** A field of a JSON request body (undefined when the body is not an object). */
function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)[name]
    : undefined;
}

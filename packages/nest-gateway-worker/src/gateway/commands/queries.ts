import { ipv4ToString } from '../../protocol/client-id';
import { Cmd } from '../../protocol/command';
import type { ClientInfo, GatewayStats } from '../../protocol/connection-stats';
import type { ClientConnection } from '../client-connection';
import type { ClientHub } from '../client-hub';
import { query, type CommandContext, type CommandRow } from './command-row';
import { ALL, countTargets, resolveTargets, type Target, type TargetVisitor } from './targets';

/**
 * The request commands: each answers with the JSON text of its result (see protocol/gateway-request.ts for the
 * shapes). Sessions are stored as JSON text and spliced in without parsing; client_ids are built from this
 * gateway's address, so callers need no rebuilding.
 */
export const QUERIES: readonly CommandRow[] = [
  query(Cmd.IsOnline, [], ({ hub }, f) => (hub.get(f.connectionId) ? 'true' : 'false')),
  query(Cmd.GetSessionByClientId, [], ({ hub }, f) => {
    const client = hub.get(f.connectionId);
    return client ? sessionJson(client) : 'null';
  }),
  query(Cmd.GetAllClientSessions, [], ({ hub }) => sessionsJson(hub, ALL)),
  query(Cmd.GetClientSessionsByGroup, ['group'], ({ hub }, _f, r) => {
    hub.counters.groupCommands++;
    return sessionsJson(hub, { groups: [r.group] });
  }),
  query(Cmd.GetClientIdByUid, ['uid'], ({ hub }, _f, r) => {
    return JSON.stringify(clientIds(hub, { uids: [r.uid] }));
  }),
  query(Cmd.BatchGetClientIdByUid, ['uids'], ({ hub }, _f, r) => {
    const parts: string[] = [];
    for (const uid of new Set(r.uids))
      parts.push(`${JSON.stringify(uid)}:${JSON.stringify(clientIds(hub, { uids: [uid] }))}`);
    return `{${parts.join(',')}}`;
  }),
  query(Cmd.GetClientCountByGroup, [], ({ hub }, _f, r) => {
    if (r.group !== undefined) hub.counters.groupCommands++;
    return String(countTargets(hub, r.group === undefined ? ALL : { groups: [r.group] }));
  }),
  query(Cmd.BatchGetClientCountByGroup, [], ({ hub }, _f, r) => {
    if (r.groups !== undefined) hub.counters.groupCommands++;
    return perGroupJson(hub, r.groups, (group) => String(countTargets(hub, { groups: [group] })));
  }),
  query(Cmd.GetGroupIdList, [], ({ hub }) => JSON.stringify([...hub.membership.groupIds()])),
  query(Cmd.Select, ['select'], ({ hub }, f, r) => {
    const groups = r.groups;
    if (groups !== undefined) hub.counters.groupCommands++;
    switch (r.select) {
      case 'uid':
        return JSON.stringify(hub.get(f.connectionId)?.uid ?? null);
      case 'clientIds':
        return JSON.stringify(clientIds(hub, groups === undefined ? ALL : { groups }));
      case 'uids':
        // All clients: the uid index already holds each bound uid once.
        return JSON.stringify([...(groups === undefined ? hub.membership.uids() : distinctUids(hub, { groups }))]);
      case 'groupClientIds':
        return perGroupJson(hub, groups, (group) => JSON.stringify(clientIds(hub, { groups: [group] })));
      case 'groupUids':
        return perGroupJson(hub, groups, (group) => JSON.stringify([...distinctUids(hub, { groups: [group] })]));
    }
  }),
  query(Cmd.GetClientInfo, [], ({ hub }, f) => {
    const client = hub.get(f.connectionId);
    return client ? JSON.stringify(clientInfo(hub, client)) : 'null';
  }),
  query(Cmd.GetGatewayStats, [], (ctx) => JSON.stringify(gatewayStats(ctx))),
];

/** The stored session text; a connection whose session was never set answers `{}`. */
function sessionJson(client: ClientConnection): string {
  return client.session === 'null' ? '{}' : client.session;
}

const sessionEntry: TargetVisitor<string[]> = (hub, client, parts) => {
  parts.push(`"${hub.address.clientId(client)}":${sessionJson(client)}`);
  return true;
};

/** `{clientId: session}` of the target's connections. */
function sessionsJson(hub: ClientHub, target: Target): string {
  const parts: string[] = [];
  resolveTargets(hub, target, sessionEntry, parts);
  return `{${parts.join(',')}}`;
}

const clientIdOf: TargetVisitor<string[]> = (hub, client, out) => {
  out.push(hub.address.clientId(client));
  return true;
};

function clientIds(hub: ClientHub, target: Target): string[] {
  const out: string[] = [];
  resolveTargets(hub, target, clientIdOf, out);
  return out;
}

const uidOf: TargetVisitor<Set<string>> = (_hub, client, out) => {
  if (client.uid !== null) out.add(client.uid);
  return true;
};

/** The distinct uids bound to the target's connections (unbound connections add none). */
function distinctUids(hub: ClientHub, target: Target): Set<string> {
  const out = new Set<string>();
  resolveTargets(hub, target, uidOf, out);
  return out;
}

/** `{group: value}` for every group, or for the listed ones (an unknown listed group has no members). */
function perGroupJson(hub: ClientHub, groups: string[] | undefined, value: (group: string) => string): string {
  const parts: string[] = [];
  for (const group of groups === undefined ? hub.membership.groupIds() : new Set(groups)) {
    parts.push(`${JSON.stringify(group)}:${value(group)}`);
  }
  return `{${parts.join(',')}}`;
}

function clientInfo(hub: ClientHub, client: ClientConnection): ClientInfo {
  const h = client.handshake; // parsed from its JSON: the connection keeps no handshake object
  return {
    clientId: hub.address.clientId(client),
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

/** The commands and queries addressed to uids (GetGatewayStats' `uidCommands`). */
export const UID_COMMANDS: readonly Cmd[] = [Cmd.SendToUid, Cmd.GetClientIdByUid, Cmd.BatchGetClientIdByUid];

/**
 * Commands and queries addressed to uids that reached this gateway, from the per-command counts (the metric
 * `gatewayworker_gateway_commands_total{command}` of the same three commands): without a backplane every gateway
 * gets every one; with it, only the gateways that hold the uids (and those not known to be in sync).
 */
export function uidCommandCount(received: Float64Array): number {
  let n = 0;
  for (const cmd of UID_COMMANDS) n += received[cmd];
  return n;
}

function gatewayStats(ctx: CommandContext): GatewayStats {
  const { hub } = ctx;
  return {
    address: `${ipv4ToString(hub.address.lanIp)}:${hub.address.innerPort}`,
    connections: hub.size,
    workers: ctx.workerCount,
    uptimeMs: Math.max(0, ctx.now() - ctx.startedAt),
    // Every counter field, including ones added later, without listing them here.
    counters: { ...hub.counters, uidCommands: uidCommandCount(ctx.received) },
    memoryRss: process.memoryUsage.rss(),
    backplane: ctx.backplaneState(),
  };
}

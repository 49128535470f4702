import type { ClientConnection } from '../client-connection';
import type { ClientHub } from '../client-hub';

/**
 * Which of this gateway's connections a send or query is about: every one, the listed connection ids, the
 * connections of the listed uids, or the members of the listed groups; `except` leaves connection ids out.
 * socket.io-adapter's BroadcastOptions in our vocabulary (uids and groups for rooms).
 */
export type Target = (
  | { readonly all: true }
  | { readonly connections: readonly number[] }
  | { readonly uids: readonly string[] }
  | { readonly groups: readonly string[] }
) & { readonly except?: readonly number[] };

/** Every connection of the gateway. */
export const ALL: Target = { all: true };

/**
 * Called once per target connection with the resolver's hub and the caller's `arg`; returns whether the
 * connection counts (a send: whether it was handed the message). A module-level function plus an argument
 * instead of a closure: a broadcast allocates nothing per recipient and no function per command.
 */
export type TargetVisitor<A> = (hub: ClientHub, client: ClientConnection, arg: A) => boolean;

/**
 * The one target resolver (socket.io-adapter's `apply(opts, callback)`): visits every distinct connection
 * `target` names exactly once, minus `except`, and returns how many visits returned true. Unknown connection
 * ids, uids and groups name nobody (a client can close while a command for it is on its way).
 */
export function resolveTargets<A>(hub: ClientHub, target: Target, visit: TargetVisitor<A>, arg: A): number {
  const except = target.except !== undefined && target.except.length > 0 ? new Set(target.except) : null;
  let count = 0;
  if ('all' in target) {
    if (except) {
      for (const client of hub.table.values()) if (!except.has(client.id) && visit(hub, client, arg)) count++;
    } else {
      for (const client of hub.table.values()) if (visit(hub, client, arg)) count++;
    }
    return count;
  }
  if ('connections' in target) {
    const ids = target.connections;
    // Each listed connection once, however often it is listed.
    for (const id of ids.length > 1 ? new Set(ids) : ids) {
      if (except?.has(id)) continue;
      const client = hub.get(id);
      if (client && visit(hub, client, arg)) count++;
    }
    return count;
  }
  if ('uids' in target) {
    const uids = target.uids;
    // A connection has one uid, so distinct uids reach disjoint connections: no per-client dedupe needed.
    for (const uid of uids.length > 1 ? new Set(uids) : uids) {
      const connections = hub.membership.connectionsOfUid(uid);
      if (connections)
        for (const client of connections) if (!except?.has(client.id) && visit(hub, client, arg)) count++;
    }
    return count;
  }
  const groups = target.groups;
  if (groups.length === 1) {
    // One group: its members are already distinct; skip building a recipient set.
    const members = hub.membership.membersOfGroup(groups[0]);
    if (members) for (const client of members) if (!except?.has(client.id) && visit(hub, client, arg)) count++;
    return count;
  }
  // Once per client, even when it is in several of the groups (PHP sends it once per group).
  for (const client of membersOf(hub, groups)) if (!except?.has(client.id) && visit(hub, client, arg)) count++;
  return count;
}

/** How many connections `target` names: read from the indexes where they hold the answer, else counted. */
export function countTargets(hub: ClientHub, target: Target): number {
  if (target.except === undefined || target.except.length === 0) {
    if ('all' in target) return hub.size;
    if ('groups' in target && target.groups.length === 1)
      return hub.membership.membersOfGroup(target.groups[0])?.size ?? 0;
  }
  return resolveTargets(hub, target, counted, undefined);
}

const counted: TargetVisitor<undefined> = () => true;

/** The distinct members of the listed groups, in group order. */
function membersOf(hub: ClientHub, groups: readonly string[]): Set<ClientConnection> {
  const out = new Set<ClientConnection>();
  for (const group of groups) {
    const members = hub.membership.membersOfGroup(group);
    if (members) for (const client of members) out.add(client);
  }
  return out;
}

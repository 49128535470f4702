import type { ClientConnection } from './client-connection';

/**
 * Told when the number of this gateway's connections of a uid or members of a group may have changed (the
 * backplane's presence directory; null when there is none, which costs one null check per change).
 */
export interface MembershipObserver {
  uidChanged(uid: string): void;
  groupChanged(group: string): void;
}

/**
 * Uid and group membership of this gateway's connections, indexed in both directions: uid → connections and
 * group → connections here, and each connection's own `uid` and `groups` on {@link ClientConnection}. So a send
 * to a uid or group, and every membership query, costs what its result costs, never a scan of all connections;
 * and a closing connection is removed from exactly the sets it is in.
 *
 * Rules (PHP GatewayWorker's): a connection has at most one uid, and binding replaces the previous one; a uid may
 * hold many connections (one user, several tabs); a connection may be in many groups. A uid or group with no
 * connection left is deleted, so the maps never fill up with empty entries. Only open connections are indexed:
 * the gateway calls {@link remove} when a connection closes.
 */
export class MembershipIndex {
  private readonly byUid = new Map<string, Set<ClientConnection>>();
  private readonly byGroup = new Map<string, Set<ClientConnection>>();
  /** See MembershipObserver. */
  observer: MembershipObserver | null = null;

  /** Binds `uid` to `client`, replacing the uid it had. */
  bindUid(client: ClientConnection, uid: string): void {
    // A closed connection has already been removed; indexing it again would leak it.
    if (client.closed || client.uid === uid) return;
    this.unbindUid(client);
    let connections = this.byUid.get(uid);
    if (!connections) this.byUid.set(uid, (connections = new Set()));
    connections.add(client);
    client.uid = uid;
    this.observer?.uidChanged(uid);
  }

  /** Removes the uid binding of `client`, whatever it is. */
  unbindUid(client: ClientConnection): void {
    const uid = client.uid;
    if (uid === null) return;
    client.uid = null;
    deleteMember(this.byUid, uid, client);
    this.observer?.uidChanged(uid);
  }

  joinGroup(client: ClientConnection, group: string): void {
    if (client.closed) return;
    let members = this.byGroup.get(group);
    if (!members) this.byGroup.set(group, (members = new Set()));
    members.add(client);
    (client.groups ??= new Set()).add(group);
    this.observer?.groupChanged(group);
  }

  leaveGroup(client: ClientConnection, group: string): void {
    if (!client.groups?.delete(group)) return;
    if (client.groups.size === 0) client.groups = null;
    deleteMember(this.byGroup, group, client);
    this.observer?.groupChanged(group);
  }

  /** Dissolves `group`: every member leaves it and the group is deleted. */
  ungroup(group: string): void {
    const members = this.byGroup.get(group);
    if (!members) return;
    this.byGroup.delete(group);
    for (const client of members) {
      client.groups?.delete(group);
      if (client.groups?.size === 0) client.groups = null;
    }
    this.observer?.groupChanged(group);
  }

  /** Forgets a closed connection: its uid binding and every group it was in. */
  remove(client: ClientConnection): void {
    this.unbindUid(client);
    const groups = client.groups;
    if (!groups) return;
    client.groups = null;
    for (const group of groups) {
      deleteMember(this.byGroup, group, client);
      this.observer?.groupChanged(group);
    }
  }

  /** The connections bound to `uid`; undefined when none. Do not modify. */
  connectionsOfUid(uid: string): ReadonlySet<ClientConnection> | undefined {
    return this.byUid.get(uid);
  }

  /** The members of `group`; undefined when the group does not exist (has no member). Do not modify. */
  membersOfGroup(group: string): ReadonlySet<ClientConnection> | undefined {
    return this.byGroup.get(group);
  }

  /** Every uid bound to at least one connection. */
  uids(): IterableIterator<string> {
    return this.byUid.keys();
  }

  /** Every group with at least one member. */
  groupIds(): IterableIterator<string> {
    return this.byGroup.keys();
  }

  /** Every group with its members. Do not modify the sets. */
  groups(): IterableIterator<[string, ReadonlySet<ClientConnection>]> {
    return this.byGroup.entries();
  }

  get uidCount(): number {
    return this.byUid.size;
  }

  get groupCount(): number {
    return this.byGroup.size;
  }
}

/** Removes `client` from the set under `key`, deleting the key when the set becomes empty. */
function deleteMember(map: Map<string, Set<ClientConnection>>, key: string, client: ClientConnection): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(client);
  if (set.size === 0) map.delete(key);
}

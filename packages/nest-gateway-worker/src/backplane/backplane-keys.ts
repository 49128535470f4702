/**
 * The backplane's key and channel names, all under one prefix (default "gw"). Discovery keys share the hash tag
 * `{d}` (one Cluster slot, so multi-key commands such as MGET of the leases work there too); each uid, group and
 * gateway has its own tag, so every directory key is slot-local.
 *
 * | key                         | type   | content                                                          |
 * |-----------------------------|--------|------------------------------------------------------------------|
 * | `<p>:{d}:gws`               | SET    | gateway ids announced and not yet cleaned up                      |
 * | `<p>:{d}:lease:<id>`        | STRING | the lease (JSON: address, boot, epoch, startedAt, synced), PX      |
 * | `<p>:{d}:janitor:<id>`      | STRING | who is purging a dead gateway's entries (NX PX lock)               |
 * | `<p>:{d}:events`            | channel| "up", "sync", "bye" (withdrew), "down" (purged), + " <id>"      |
 * | `<p>:u:{<uid>}`             | HASH   | gateway id → connections of the uid on that gateway                |
 * | `<p>:g:{<group>}`           | HASH   | gateway id → members of the group on that gateway                  |
 * | `<p>:own:{<id>}:u` / `:g`   | SET    | uids / groups a gateway wrote a field for (its cleanup index)      |
 * | `<p>:s:{<uid>}`             | STRING | RedisSessionStore: the uid's session (JSON), PX sliding           |
 * | `<p>:h:u:{<uid>}` / `:g:`   | STREAM | HistoryStore: messages, id `<offset>-0`, field `d`                 |
 * | `<p>:hm:u:{<uid>}` / `:g:`  | HASH   | HistoryStore: `e` epoch, `s` top offset                            |
 *
 * An id that is empty or starts with `}` would make an empty tag (Redis then hashes the whole key, and a history's
 * two keys would land in different slots): such ids are written `{~}<id>~` instead (tag `~`; see {@link tagged}).
 */
export class BackplaneKeys {
  readonly gateways: string;
  readonly events: string;

  constructor(readonly prefix: string) {
    this.gateways = `${prefix}:{d}:gws`;
    this.events = `${prefix}:{d}:events`;
  }

  lease(gatewayId: string): string {
    return `${this.prefix}:{d}:lease:${gatewayId}`;
  }

  janitor(gatewayId: string): string {
    return `${this.prefix}:{d}:janitor:${gatewayId}`;
  }

  uid(uid: string): string {
    return `${this.prefix}:u:${tagged(uid)}`;
  }

  group(group: string): string {
    return `${this.prefix}:g:${tagged(group)}`;
  }

  ownedUids(gatewayId: string): string {
    return `${this.prefix}:own:${tagged(gatewayId)}:u`;
  }

  ownedGroups(gatewayId: string): string {
    return `${this.prefix}:own:${tagged(gatewayId)}:g`;
  }

  /** History of a uid or group (STREAM), `<p>:h:u:{<uid>}` / `<p>:h:g:{<group>}`. */
  history(kind: 'uid' | 'group', id: string): string {
    return `${this.prefix}:h:${kind === 'uid' ? 'u' : 'g'}:${tagged(id)}`;
  }

  /** Its epoch and top offset (HASH), in the same slot. */
  historyMeta(kind: 'uid' | 'group', id: string): string {
    return `${this.prefix}:hm:${kind === 'uid' ? 'u' : 'g'}:${tagged(id)}`;
  }

  session(uid: string): string {
    return `${this.prefix}:s:${tagged(uid)}`;
  }
}

/**
 * `{<id>}`: the id as the key's hash tag, so that every key of one uid, group or gateway is in one Cluster slot. An
 * id that is empty or starts with `}` would make an empty tag there: it is written `{~}<id>~` (tag `~`: all such ids
 * share one slot). One-to-one: the usual form ends with `}`, this one with `~`.
 */
export function tagged(id: string): string {
  return id === '' || id.startsWith('}') ? `{~}${id}~` : `{${id}}`;
}

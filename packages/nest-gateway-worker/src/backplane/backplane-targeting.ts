import { addressOfGatewayId } from './gateway-lease';
import type { GatewayTargeting } from '../client/gateway-targeting';
import type { DirectoryReader } from './directory-reader';
import type { GatewayWatch } from './gateway-watch';
import { RecentMemberships } from './recent-memberships';

/**
 * Targeted fan-out from the presence directory. A call about uids (or groups) goes to:
 *  - the gateways the directory names for them, if their lease is alive and they are listed;
 *  - every gateway of the call's universe (listed, or linked and not withdrawn) the directory cannot vouch for:
 *    no live lease, or a lease that is not synced (it is rewriting its entries, or it was cut off from Redis and
 *    purged while it still holds clients and links): the partition-safety rule, so a gateway Redis does not know
 *    about is never skipped;
 *  - the gateways this client itself recently bound the uid on (or made a client join the group on).
 * When the directory cannot answer (DirectoryReader: failed or over budget), every listed gateway.
 */
export class BackplaneTargeting implements GatewayTargeting {
  readonly recentUids = new RecentMemberships();
  readonly recentGroups = new RecentMemberships();
  /** Gateways whose link went down and has not come back (their directory entries cannot be live clients). */
  private readonly linkDown = new Set<string>();
  /** Calls sent to fewer gateways than listed (tests and metrics). */
  narrowed = 0;

  constructor(
    private readonly watch: GatewayWatch,
    /** The directory lookups (ClientBackplane: a DirectoryReadBatch over the DirectoryReader). */
    private readonly reader: Pick<DirectoryReader, 'gatewaysOf'>,
  ) {}

  /** A link to `address` opened ('up') or closed ('down'). */
  linkChanged(address: string, state: 'up' | 'down'): void {
    if (state === 'down') this.linkDown.add(address);
    else this.linkDown.delete(address);
  }

  universe(listed: readonly string[], linked: readonly string[]): string[] {
    const listedSet = new Set(listed);
    const extra = linked.filter((a) => !listedSet.has(a) && !this.watch.isWithdrawn(a));
    return extra.length === 0 ? [...listed] : [...listed, ...extra];
  }

  async forUids(uids: readonly string[], listed: readonly string[]): Promise<string[]> {
    return this.targets('uid', uids, listed, this.recentUids);
  }

  async forGroups(groups: readonly string[], listed: readonly string[]): Promise<string[]> {
    return this.targets('group', groups, listed, this.recentGroups);
  }

  async onlineUids(
    uids: readonly string[],
    listed: readonly string[],
  ): Promise<{ online: Set<string>; ask: string[] } | null> {
    const unknownBefore = this.unknown(listed);
    const read = await this.reader.gatewaysOf('uid', uids);
    if (read === null) return null;
    const listedSet = new Set(listed);
    const online = new Set<string>();
    const ask = new Set<string>([...unknownBefore, ...this.unknown(listed)]);
    uids.forEach((uid, i) => {
      const unknownAt: string[] = [];
      for (const id of read[i]) {
        const lease = this.watch.leaseOf(id);
        if (lease === undefined) unknownAt.push(addressOfGatewayId(id));
        else if (listedSet.has(lease.address) && !this.linkDown.has(lease.address)) online.add(uid);
      }
      if (online.has(uid)) return;
      // An id discovery does not know yet (announced again since its last read) cannot vouch for the uid, nor can
      // a dead incarnation's leftover entry: the gateway at its address is asked instead.
      for (const a of unknownAt) if (listedSet.has(a)) ask.add(a);
      for (const a of this.recentUids.addressesOf(uid)) if (listedSet.has(a)) ask.add(a);
    });
    return { online, ask: listed.filter((a) => ask.has(a)) };
  }

  uidBound(uid: string, address: string): void {
    this.recentUids.add(uid, address);
  }

  groupJoined(group: string, address: string): void {
    this.recentGroups.add(group, address);
  }

  async reaches(kind: 'uid' | 'group', name: string, address: string): Promise<boolean | null> {
    if (!this.watch.isSynced(address)) return true;
    const read = await this.reader.gatewaysOf(kind, [name]);
    if (read === null) return null;
    // An id discovery does not know yet counts by its address (every id carries it): the gateway decides.
    return read[0].some((id) => (this.watch.leaseOf(id)?.address ?? addressOfGatewayId(id)) === address);
  }

  private async targets(
    kind: 'uid' | 'group',
    names: readonly string[],
    listed: readonly string[],
    recent: RecentMemberships,
  ): Promise<string[]> {
    // A gateway not vouched for when the read starts is included even if it turns synced before the answer comes:
    // the answer may predate the entries it (re)wrote.
    const unknownBefore = this.unknown(listed);
    const read = await this.reader.gatewaysOf(kind, names);
    if (read === null) return [...listed];
    const out = new Set<string>([...unknownBefore, ...this.unknown(listed)]);
    for (const ids of read) {
      // An id this sender's discovery does not know yet (a gateway that announced again after a failover or an
      // empty restart, before the next poll) still names its address: send there too rather than to nobody.
      for (const id of ids) out.add(this.watch.leaseOf(id)?.address ?? addressOfGatewayId(id));
    }
    for (const name of names) for (const address of recent.addressesOf(name)) out.add(address);
    // In list order; only listed gateways (the ones the mesh would reach).
    const targets = listed.filter((a) => out.has(a));
    if (targets.length < listed.length) this.narrowed++;
    return targets;
  }

  /** Listed gateways the directory cannot vouch for: no live lease that says synced. */
  private unknown(listed: readonly string[]): string[] {
    return listed.filter((a) => !this.watch.isSynced(a));
  }
}

/**
 * How long a GatewayClient remembers that it bound a uid (or made a client join a group) on a gateway, in
 * milliseconds: long enough for the gateway's directory write to be visible (a flush delay plus a round trip).
 */
export const RECENT_MEMBERSHIP_MS = 5_000;
/** At most this many remembered memberships (the oldest are forgotten first). */
export const RECENT_MEMBERSHIP_LIMIT = 10_000;

/**
 * "I just bound uid u on gateway G": a sender that itself bound a uid or made a client join a group includes
 * that gateway in its next sends, so a bind followed by a send from the same GatewayClient is delivered as in
 * the full mesh (both travel on the same link, in order), without waiting for the directory to show it.
 */
export class RecentMemberships {
  /** Name → address → expiry (epoch ms); Map order = insertion order, oldest first. */
  private readonly entries = new Map<string, Map<string, number>>();
  private size = 0;

  constructor(
    private readonly ttlMs = RECENT_MEMBERSHIP_MS,
    private readonly limit = RECENT_MEMBERSHIP_LIMIT,
    private readonly now: () => number = Date.now,
  ) {}

  add(name: string, address: string): void {
    let addresses = this.entries.get(name);
    if (addresses) this.entries.delete(name);
    else addresses = new Map();
    if (!addresses.has(address)) this.size++;
    addresses.set(address, this.now() + this.ttlMs);
    // Re-inserted: now the newest.
    this.entries.set(name, addresses);
    while (this.size > this.limit) {
      const [oldest, gone] = this.entries.entries().next().value as [string, Map<string, number>];
      this.entries.delete(oldest);
      this.size -= gone.size;
    }
  }

  /** The gateways `name` was recently bound on (expired entries are dropped). */
  addressesOf(name: string): string[] {
    const addresses = this.entries.get(name);
    if (!addresses) return [];
    const now = this.now();
    const out: string[] = [];
    for (const [address, expiry] of addresses) {
      if (expiry > now) out.push(address);
      else {
        addresses.delete(address);
        this.size--;
      }
    }
    if (addresses.size === 0) this.entries.delete(name);
    return out;
  }
}

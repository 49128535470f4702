/**
 * Which Redis Cluster primaries a connection's commands go to, and who they are. A failover (a SIGKILLed primary, or
 * `CLUSTER FAILOVER TAKEOVER` / `FORCE`, after which the old primary stays up as a replica) puts a replica in a
 * primary's place that may have missed its last writes; no node need leave the client's pool for that (no '-node').
 * The identity of a connection's Cluster is therefore the run_ids of the primaries its slot map names
 * ({@link clusterServerId}): gateways write it in their lease as the servers their entries are synced on, senders
 * compare it with their own (see GatewayLease.server, DirectoryReader).
 */

/** One node connection of an ioredis Cluster's pool. */
interface ClusterNode {
  info(section: string): Promise<string>;
}

/** What is used of an ioredis Cluster to know its primaries. */
export interface ClusterNodes {
  /** ioredis Cluster: the node connections of the pool in `role` ("master": the primaries its slot map names). */
  nodes?(role: 'master'): unknown[];
}

/** What is used of an ioredis Cluster to follow its primaries. */
export interface ClusterPool extends ClusterNodes {
  on(event: string, listener: () => void): unknown;
}

/** The primaries' connections in the pool now (ioredis keeps one instance per node until it closes). */
export function clusterPrimaries(cluster: ClusterNodes): readonly unknown[] {
  return cluster.nodes?.('master') ?? [];
}

/** Whether two lists of node connections hold the same instances (a node connection closed and reopened differs). */
export function samePrimaries(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((n) => set.has(n));
}

/**
 * The identity of the Cluster as this connection sees it: the run_ids of the primaries its pool names, sorted, joined
 * by ",". Rejects when a primary does not answer, when none is known, or when the primaries changed while they were
 * asked.
 */
export async function clusterServerId(cluster: ClusterNodes): Promise<string> {
  const primaries = clusterPrimaries(cluster);
  if (primaries.length === 0) throw new Error('no Redis Cluster primary is known yet');
  const ids = await Promise.all(
    primaries.map(async (node) => {
      const id = /^run_id:([0-9a-f]+)/m.exec(await (node as ClusterNode).info('server'))?.[1];
      if (id === undefined) throw new Error('a Redis Cluster primary gave no run_id');
      return id;
    }),
  );
  if (!samePrimaries(primaries, clusterPrimaries(cluster)))
    throw new Error('the Redis Cluster primaries changed while they were asked');
  return ids.sort().join(',');
}

/**
 * Calls `listener` whenever the pool's primaries change: a node joined or left the pool, or the slot map was
 * refreshed (after a MOVED redirect, or periodically: REDIS_CLUSTER_SLOTS_REFRESH_MS) and names other primaries.
 */
export function onPrimariesChanged(cluster: ClusterPool, listener: () => void): void {
  let last = clusterPrimaries(cluster);
  const check = (): void => {
    const now = clusterPrimaries(cluster);
    if (samePrimaries(last, now)) return;
    last = now;
    listener();
  };
  for (const event of ['+node', '-node', 'refresh']) cluster.on(event, check);
}

import { randomBytes } from 'node:crypto';
import { clusterServerId } from './cluster-primaries';

/**
 * What a gateway's lease says about it (stored as JSON under `<p>:{d}:lease:<id>` with a PX expiry). `synced` is
 * false while the gateway (re)writes its directory entries: senders then treat it as unknown and always include it.
 */
export interface GatewayLease {
  /** Its inner address "lanIp:port" (the one in its client_ids). */
  address: string;
  /** Random per process start: a gateway restarted at the same address is a new incarnation. */
  boot: string;
  /** Incremented each time the gateway had to announce again under a new id (its lease was lost). */
  epoch: number;
  /** Epoch milliseconds of the process start. */
  startedAt: number;
  synced: boolean;
  /**
   * The run_id of the Redis primary the entries were last rewritten on; on a Cluster the run_ids of its primaries
   * (see clusterServerId); absent from older versions (and on a Cluster while a primary did not answer). A reader
   * connected to another primary (a Sentinel or Cluster failover: the replica promoted may have missed the last
   * writes) does not trust `synced` until the gateway has rewritten its entries there.
   */
  server?: string;
}

/** A gateway id: `<address>/<boot>.<epoch>`; every directory field is written under it. */
export function gatewayIdOf(lease: Pick<GatewayLease, 'address' | 'boot' | 'epoch'>): string {
  return `${lease.address}/${lease.boot}.${lease.epoch}`;
}

/** The address part of a gateway id. */
export function addressOfGatewayId(id: string): string {
  const slash = id.indexOf('/');
  return slash < 0 ? id : id.slice(0, slash);
}

/** 8 random bytes as 16 hex characters. */
export function newBootId(): string {
  return randomBytes(8).toString('hex');
}

export function encodeLease(lease: GatewayLease): string {
  return JSON.stringify(lease);
}

/** The lease in `text`, or null when it is not one (a foreign or corrupted value is ignored, never trusted). */
export function parseLease(text: string | null): GatewayLease | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as Partial<GatewayLease>;
    if (
      typeof v.address === 'string' &&
      typeof v.boot === 'string' &&
      typeof v.epoch === 'number' &&
      typeof v.startedAt === 'number' &&
      typeof v.synced === 'boolean'
    ) {
      const lease: GatewayLease = {
        address: v.address,
        boot: v.boot,
        epoch: v.epoch,
        startedAt: v.startedAt,
        synced: v.synced,
      };
      if (typeof v.server === 'string') lease.server = v.server;
      return lease;
    }
  } catch {
    // not JSON
  }
  return null;
}

/**
 * Which Redis server this connection talks to: its run_id (INFO server), new at every start of a redis-server, so a
 * Sentinel failover (another primary) or a restart shows as a change. On a Cluster, the run_ids of the primaries its
 * slot map names (clusterServerId: a failover puts a replica, with another run_id, in a primary's place); it rejects
 * there when a primary does not answer.
 */
export async function serverIdOf(redis: {
  isCluster?: boolean;
  info(section: string): Promise<string>;
  nodes?(role: 'master'): unknown[];
}): Promise<string> {
  if (redis.isCluster === true) return clusterServerId(redis);
  return /^run_id:([0-9a-f]+)/m.exec(await redis.info('server'))?.[1] ?? '';
}

import { BackplaneKeys, parseLease, type GatewayLease } from 'nest-gateway-worker/internal';
import { Redis } from 'ioredis';
import { eventually } from './eventually';
import { NetnsLab } from './netns-lab';
import {
  LabAgent,
  idsInConnectOrder,
  requireBuiltApps,
  startLabGateway,
  startLabRegister,
  startLabWorker,
  type LabGateway,
} from './netns-cluster';
import { RedisServer } from './redis-server';
import type { LoggedProcess } from './roles';

/**
 * The cluster the multi-host backplane scenarios share (test/backplane-netns-*.e2e-spec.ts), one per scenario:
 *   h1, h2: a gateway each;  h3: the "worker host" (the example echo worker and an sdk agent: a GatewayClient);
 *   h4: the "client host" (a clients agent: WebSocket clients); h5: a spare host (a gateway started later);
 *   Redis on the root namespace's data address (or a LatencyProxy in front of it); the register, when asked for, on h3.
 * Every host has a mesh veth and a data veth (test/support/netns-lab.ts), so a host can be cut from Redis only
 * or from everyone.
 */

export const keys = new BackplaneKeys('gw');

export interface ClusterOptions {
  leaseMs: number;
  /** The sdk agent's per-gateway time limit (GATEWAY_TIMEOUT_MS). */
  clientTimeoutMs: number;
  register?: boolean;
  /** More environment for the sdk agent (e.g. GATEWAY_BACKPLANE_TIMEOUT_MS). */
  sdkEnv?: Record<string, string>;
  /** The Redis URL the processes use (default: the Redis itself), e.g. a LatencyProxy's. */
  redisUrlFor?: (redis: RedisServer, lab: NetnsLab) => Promise<string>;
}

export class BackplaneCluster {
  readonly lab = new NetnsLab();
  redis!: RedisServer;
  /** The URL the processes use. */
  url = '';
  inspector!: Redis;
  register: { proc: LoggedProcess; address: string } | null = null;
  readonly gateways: LabGateway[] = [];
  worker!: LoggedProcess;
  sdk!: LabAgent;
  clients!: LabAgent;

  constructor(readonly options: ClusterOptions) {}

  async start(): Promise<void> {
    await NetnsLab.requireRoot();
    requireBuiltApps();
    this.lab.create();
    for (const n of [1, 2, 3, 4, 5]) this.lab.addHost(n);
    this.lab.checkRoutes();
    this.redis = await RedisServer.start({ host: this.lab.dataAddress, args: ['--protected-mode', 'no'] });
    this.url = this.options.redisUrlFor ? await this.options.redisUrlFor(this.redis, this.lab) : this.redis.url;
    this.inspector = new Redis(this.redis.url, { maxRetriesPerRequest: 1 });
    if (this.options.register) this.register = await startLabRegister(this.lab, 'h3');
    const [g1, g2] = await Promise.all([this.startGateway('h1'), this.startGateway('h2')]);
    this.gateways.push(g1, g2);
    this.worker = startLabWorker(this.lab, 'h3', this.roleEnv());
    [this.sdk, this.clients] = await Promise.all([
      LabAgent.start(this.lab, 'h3', 'sdk', {
        ...this.roleEnv(),
        GATEWAY_TIMEOUT_MS: String(this.options.clientTimeoutMs),
        ...this.options.sdkEnv,
      }),
      LabAgent.start(this.lab, 'h4', 'clients'),
    ]);
    await this.allSynced(this.gateways.map((g) => g.inner));
    await this.workerLinked(this.gateways.map((g) => g.inner));
  }

  /** Waits until each of `inners` has a worker linked (the echo worker on h3). */
  async workerLinked(inners: string[]): Promise<void> {
    await eventually(
      async () => {
        const stats = await this.sdk.value<{ address: string; workers: number }[]>('getGatewayStats');
        return inners.every((a) => stats.some((s) => s.address === a && s.workers >= 1));
      },
      (ok) => ok,
      `the worker linked to ${inners.join(', ')}`,
      20_000,
      100,
    );
  }

  async stop(): Promise<void> {
    this.inspector?.disconnect();
    await this.lab.destroy();
    await this.redis?.stop();
  }

  roleEnv(): Record<string, string> {
    return {
      GATEWAY_BACKPLANE: this.url,
      ...(this.register ? { REGISTER_ADDRESS: this.register.address } : {}),
    };
  }

  startGateway(host: string): Promise<LabGateway> {
    return startLabGateway(this.lab, host, {
      ...this.roleEnv(),
      GATEWAY_BACKPLANE_LEASE_MS: String(this.options.leaseMs),
    });
  }

  /** Waits until the sdk agent's discovery sees every one of `inners` in sync (a live lease that says synced). */
  async allSynced(inners: string[], timeoutMs = 20_000): Promise<number> {
    const start = Date.now();
    await eventually(
      () => this.sdk.stats(inners),
      (s) => inners.every((a) => s.synced[a]),
      `the sdk sees ${inners.join(', ')} in sync`,
      timeoutMs,
      50,
    );
    return Date.now() - start;
  }

  /**
   * Opens `n` clients on `gateway` (from the client host) and returns their indices in the clients agent with their
   * client_ids (matched by connection order).
   */
  async openClients(gateway: LabGateway, n: number): Promise<{ index: number; id: string }[]> {
    // Its current clients, read while it answers (a gateway that does not answer is left out of the list).
    const known = await eventually(
      async () => {
        const [stats, ids] = await Promise.all([
          this.sdk.value<{ address: string }[]>('getGatewayStats'),
          this.sdk.value<string[]>('getAllClientIdList'),
        ]);
        return stats.some((s) => s.address === gateway.inner) ? new Set(idsInConnectOrder(ids, gateway.inner)) : null;
      },
      (k) => k !== null,
      `${gateway.inner} answering`,
      20_000,
      100,
    );
    const indices = await this.clients.open(gateway.url, n);
    const fresh = await eventually(
      async () =>
        idsInConnectOrder(await this.sdk.value<string[]>('getAllClientIdList'), gateway.inner).filter(
          (id) => !known!.has(id),
        ),
      (ids) => ids.length === n,
      `${n} new clients on ${gateway.inner}`,
    );
    return indices.map((index, k) => ({ index, id: fresh[k] }));
  }

  /** Binds each client to its uid and waits until the directory names a gateway for every uid. */
  async bind(pairs: { id: string; uid: string }[]): Promise<void> {
    for (const { id, uid } of pairs) await this.sdk.value('bindUid', id, uid);
    await eventually(
      () => Promise.all(pairs.map((p) => this.inspector.hkeys(keys.uid(p.uid)))),
      (all) => all.every((ids) => ids.length === 1),
      `${pairs.map((p) => p.uid).join(', ')} in the directory`,
    );
  }

  /** The leases in Redis now (read from the root namespace), by gateway id. */
  async leases(): Promise<Map<string, GatewayLease>> {
    const ids = await this.inspector.smembers(keys.gateways);
    const values = ids.length ? await this.inspector.mget(...ids.map((id) => keys.lease(id))) : [];
    const out = new Map<string, GatewayLease>();
    ids.forEach((id, i) => {
      const lease = parseLease(values[i]);
      if (lease) out.set(id, lease);
    });
    return out;
  }

  /** The id of `inner`'s live lease, if any, and whether it says synced. */
  async leaseOf(inner: string): Promise<{ id: string; synced: boolean } | undefined> {
    for (const [id, l] of await this.leases()) if (l.address === inner) return { id, synced: l.synced };
    return undefined;
  }

  /** The ids of Redis's client connections that come from `host` (its data address), from CLIENT LIST. */
  async connectionsFrom(host: string): Promise<Set<string>> {
    const addr = ` addr=${this.lab.host(host).data}:`;
    const list = (await this.inspector.client('LIST')) as string;
    return new Set(
      list
        .split('\n')
        .filter((line) => line.includes(addr))
        .map((line) => /^id=(\d+) /.exec(line)![1]),
    );
  }

  /** uidCommands deltas per gateway inner address. */
  static delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
    return Object.fromEntries(Object.entries(after).map(([a, n]) => [a, n - (before[a] ?? 0)]));
  }
}

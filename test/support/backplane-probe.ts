import { ClientId, GatewayClient, MessageBody, OnClientMessage, Session } from 'nest-gateway-worker';
import {
  parseLease,
  type BackplaneKeys,
  type GatewayClientPool,
  type GatewayLease,
} from 'nest-gateway-worker/internal';
import { Controller, Inject } from '@nestjs/common';
import { TestClient } from './ws-client';

/**
 * What the backplane tests on Sentinel and Cluster share: a worker controller (bind, join, login with the session
 * store, history lines), WebSocket clients that talk to it, and the gateways' own command counters.
 */
@Controller()
export class BackplaneTestController {
  constructor(@Inject(GatewayClient) protected readonly gw: GatewayClient) {}

  @OnClientMessage('whoami')
  whoami(@ClientId() clientId: string) {
    return { type: 'me', clientId };
  }

  @OnClientMessage('bind')
  async bind(@ClientId() clientId: string, @MessageBody() body: { uid: string }) {
    await this.gw.bindUid(clientId, body.uid);
    return { type: 'bound' };
  }

  @OnClientMessage('join')
  async join(@ClientId() clientId: string, @MessageBody() body: { group: string }) {
    await this.gw.joinGroup(clientId, body.group);
    return { type: 'joined' };
  }

  /** Binds the uid (the worker's session store merges its stored session in), optionally sets a nick. */
  @OnClientMessage('login')
  async login(
    @ClientId() clientId: string,
    @Session() session: Record<string, unknown>,
    @MessageBody() body: { uid: string; nick?: string },
  ) {
    await this.gw.bindUid(clientId, body.uid);
    if (body.nick) session.nick = body.nick;
    return { type: 'session', session: { ...session } };
  }

  /** A line kept in the uid's history, then sent with its position. */
  @OnClientMessage('say')
  async say(@MessageBody() body: { uid: string; text: string }) {
    const { offset, epoch } = await this.gw.appendHistory('uid', body.uid, { text: body.text }, { size: 10 });
    await this.gw.sendToUid(body.uid, { text: body.text, offset, epoch });
    return { type: 'said', offset, epoch };
  }

  /** Binds the uid and sends what it missed since a position. */
  @OnClientMessage('resume')
  async resume(@ClientId() clientId: string, @MessageBody() body: { uid: string; offset: number; epoch: string }) {
    await this.gw.bindUid(clientId, body.uid);
    const missed = await this.gw.recoverHistory('uid', body.uid, { offset: body.offset, epoch: body.epoch });
    for (const entry of missed.entries) {
      const line = JSON.parse(entry.data.toString('utf8')) as { text: string };
      await this.gw.sendToClient(clientId, { ...line, offset: entry.offset, epoch: missed.top.epoch });
    }
    return { type: 'resumed', recovered: missed.recovered, count: missed.entries.length };
  }
}

export type Counters = Map<string, { uid: number; group: number }>;

export class BackplaneProbe {
  readonly clients: TestClient[] = [];

  constructor(private readonly sdk: () => GatewayClientPool) {}

  /** A client of the gateway at `url`, and its client_id. */
  async open(url: string): Promise<{ client: TestClient; clientId: string }> {
    const client = await TestClient.open(url);
    this.clients.push(client);
    const clientId = await this.ask<{ clientId: string }>(client, { type: 'whoami' }, 'me');
    return { client, clientId: clientId.clientId };
  }

  /** Sends a request to the worker through `client` and waits for the reply of `type`. */
  async ask<T>(client: TestClient, request: object, type: string): Promise<T> {
    const before = client.received.length;
    client.send(JSON.stringify(request));
    return client.waitUntilReceived(() => {
      for (const m of client.received.slice(before)) {
        const text = m.data.toString();
        if (!text.startsWith('{')) continue;
        const v = JSON.parse(text) as { type?: string };
        if (v.type === type) return v as T;
      }
      return undefined;
    }, `${type} reply`);
  }

  /** Every gateway's uidCommands and groupCommands, by inner address (a query that counts as neither). */
  async counters(): Promise<Counters> {
    const stats = await this.sdk().client.getGatewayStats();
    return new Map(
      stats.map((s) => [s.address, { uid: s.counters.uidCommands ?? 0, group: s.counters.groupCommands ?? 0 }]),
    );
  }

  closeAll(): void {
    for (const c of this.clients) c.close();
  }
}

/** Commands of `kind` each gateway received between two counter readings. */
export function delta(after: Counters, before: Counters, kind: 'uid' | 'group'): Record<string, number> {
  return Object.fromEntries([...after].map(([a, c]) => [a, c[kind] - (before.get(a)?.[kind] ?? 0)]));
}

/** The commands the lease helpers need (an ioredis Redis or Cluster). */
interface LeaseReader {
  smembers(key: string): Promise<string[]>;
  mget(...keys: string[]): Promise<(string | null)[]>;
}

/** The leases in Redis now, by gateway id (listed ids whose lease parses). */
export async function readLeases(redis: LeaseReader, keys: BackplaneKeys): Promise<Map<string, GatewayLease>> {
  const ids = await redis.smembers(keys.gateways);
  const values = ids.length ? await redis.mget(...ids.map((id) => keys.lease(id))) : [];
  const out = new Map<string, GatewayLease>();
  ids.forEach((id, i) => {
    const lease = parseLease(values[i]);
    if (lease) out.set(id, lease);
  });
  return out;
}

/** The id of the one synced lease of the gateway at inner address `inner` (throws unless exactly one). */
export async function syncedIdOf(redis: LeaseReader, keys: BackplaneKeys, inner: string): Promise<string> {
  const found = [...(await readLeases(redis, keys))].filter(([, l]) => l.address === inner && l.synced);
  if (found.length !== 1) throw new Error(`expected one synced lease for ${inner}, got ${found.length}`);
  return found[0][0];
}

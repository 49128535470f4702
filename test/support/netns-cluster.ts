import { decodeClientId, ipv4ToString } from 'nest-gateway-worker/internal';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { NetnsLab } from './netns-lab';
import { TEST_SECRET, type LoggedProcess } from './roles';

/**
 * Roles of a backplane cluster spread over the hosts of a NetnsLab: gateways, a worker, a register, and agents
 * (test/support/netns-agent.js: WebSocket clients, or a GatewayClient) that the test drives over HTTP from the root
 * namespace. Every process runs inside its host's namespace and is cut off with it.
 */

const DIST = resolve(__dirname, '..', '..', 'dist', 'apps');
export const GATEWAY_MAIN = resolve(DIST, 'gateway', 'main.js');
export const WORKER_MAIN = resolve(DIST, 'worker', 'main.js');
export const REGISTER_MAIN = resolve(DIST, 'register', 'main.js');
const AGENT = resolve(__dirname, 'netns-agent.js');
/** Longest one agent request may take before the test gives up on it. */
export const AGENT_REQUEST_TIMEOUT_MS = 30_000;

export function requireBuiltApps(): void {
  for (const main of [GATEWAY_MAIN, WORKER_MAIN, REGISTER_MAIN]) {
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  }
}

export interface LabGateway {
  host: string;
  proc: LoggedProcess;
  /** ws://… for clients. */
  url: string;
  /** Inner address lanIp:port. */
  inner: string;
}

export async function startLabGateway(lab: NetnsLab, host: string, env: Record<string, string>): Promise<LabGateway> {
  const h = lab.host(host);
  const proc = lab.spawnNode(host, `gateway@${host}`, GATEWAY_MAIN, {
    SECRET_KEY: TEST_SECRET,
    GATEWAY_LAN_IP: h.mesh,
    GATEWAY_LISTEN: `ws://${h.mesh}:0`,
    GATEWAY_START_PORT: '0',
    ...env,
  });
  const [, url, inner] = await proc.waitFor(/Gateway ready: clients (\S+), inner (\S+)/, 20_000);
  return { host, proc, url, inner };
}

/** The example worker (echo) on `host`, HTTP off. */
export function startLabWorker(lab: NetnsLab, host: string, env: Record<string, string>): LoggedProcess {
  return lab.spawnNode(host, `worker@${host}`, WORKER_MAIN, {
    SECRET_KEY: TEST_SECRET,
    HTTP_LISTEN: 'off',
    WORKER_NAME: `worker-${host}`,
    ...env,
  });
}

/** A register on `host`; resolves with its "ip:port". */
export async function startLabRegister(lab: NetnsLab, host: string): Promise<{ proc: LoggedProcess; address: string }> {
  const proc = lab.spawnNode(host, `register@${host}`, REGISTER_MAIN, {
    SECRET_KEY: TEST_SECRET,
    REGISTER_LISTEN: `${lab.host(host).mesh}:0`,
  });
  const [, address] = await proc.waitFor(/Register listening on (\S+)/, 20_000);
  return { proc, address };
}

/** The result of one GatewayClient call made by an sdk agent. */
export interface AgentCall<T = unknown> {
  ok: boolean;
  value?: T;
  error?: { name: string; message: string };
  /** How long the call took to settle, in ms (measured in the agent). */
  ms: number;
}

export interface AgentStats {
  backplane: { reads: number; fallbacks: number; narrowed: number; purged: number };
  /** The discovery watch: list reads, notices received, subscriber connections its heartbeat reopened. */
  watch: { reads: number; notices: number; reopened: number };
  synced: Record<string, boolean>;
  failures: number;
  lastFailures: unknown[];
}

export class LabAgent {
  private constructor(
    readonly proc: LoggedProcess,
    readonly base: string,
  ) {}

  static async start(
    lab: NetnsLab,
    host: string,
    role: 'clients' | 'sdk',
    env: Record<string, string> = {},
  ): Promise<LabAgent> {
    const proc = lab.spawnNode(host, `${role}-agent@${host}`, AGENT, {
      AGENT_ROLE: role,
      AGENT_LISTEN: lab.host(host).mesh,
      SECRET_KEY: TEST_SECRET,
      ...env,
    });
    const [, base] = await proc.waitFor(/agent ready (\S+)/, 20_000);
    return new LabAgent(proc, base);
  }

  async request<T>(op: string, body: object = {}): Promise<T> {
    const res = await fetch(`${this.base}/${op}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(AGENT_REQUEST_TIMEOUT_MS),
    });
    const reply = (await res.json()) as { result?: T; error?: { name: string; message: string } };
    if (reply.error) throw new Error(`${this.proc.name} ${op}: ${reply.error.name}: ${reply.error.message}`);
    return reply.result as T;
  }

  // sdk agents
  call<T>(method: string, ...args: unknown[]): Promise<AgentCall<T>> {
    return this.request<AgentCall<T>>('call', { method, args });
  }

  /** The call's value; throws when it rejected. */
  async value<T>(method: string, ...args: unknown[]): Promise<T> {
    const r = await this.call<T>(method, ...args);
    if (!r.ok) throw new Error(`${method}: ${r.error!.name}: ${r.error!.message}`);
    return r.value as T;
  }

  sendMany(uids: string[], count: number, prefix: string): Promise<{ sent: number; ms: number; error?: unknown }> {
    return this.request('sendMany', { uids, count, prefix });
  }

  stats(addresses: string[] = []): Promise<AgentStats> {
    return this.request('stats', { addresses });
  }

  /** Each gateway's uidCommands by inner address. */
  async uidCommands(): Promise<Record<string, number>> {
    const stats = await this.value<{ address: string; counters: { uidCommands?: number } }[]>('getGatewayStats');
    return Object.fromEntries(stats.map((s) => [s.address, s.counters.uidCommands ?? 0]));
  }

  // clients agents
  open(url: string, n: number): Promise<number[]> {
    return this.request('open', { url, n });
  }

  send(i: number, texts: string[]): Promise<number> {
    return this.request('send', { i, texts });
  }

  received(): Promise<{ received: string[]; closeCode: number | null; open: boolean }[]> {
    return this.request('received');
  }
}

/** The client_ids of `inner`'s clients in the order they connected (connection ids count up per gateway). */
export function idsInConnectOrder(all: string[], inner: string): string[] {
  const [ip, port] = inner.split(':');
  return all
    .map((id) => ({ id, a: decodeClientId(id) }))
    .filter(({ a }) => a.localPort === Number(port) && ipv4ToString(a.localIp) === ip)
    .sort((x, y) => x.a.connectionId - y.a.connectionId)
    .map(({ id }) => id);
}

/**
 * Checks one client's received texts for one batch: every "<prefix>|<uid>|<i>" message of the batch sent to a uid
 * the client is bound to, exactly once and in order. Returns what it found, for an exact expect().
 */
export function batchReceived(
  received: string[],
  prefix: string,
  uid: string,
): { count: number; dups: number; inOrder: boolean } {
  const seqs = received
    .filter((t) => t.startsWith(`${prefix}|${uid}|`))
    .map((t) => Number(t.slice(prefix.length + uid.length + 2)));
  const dups = seqs.length - new Set(seqs).size;
  const inOrder = seqs.every((s, i) => i === 0 || s > seqs[i - 1]);
  return { count: seqs.length, dups, inOrder };
}

/** Index of the uid's messages in a round-robin batch: how many of `count` went to uids[k]. */
export function sentTo(count: number, uids: string[], uid: string): number {
  const k = uids.indexOf(uid);
  return Math.floor(count / uids.length) + (k < count % uids.length ? 1 : 0);
}

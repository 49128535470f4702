import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupOnSignal } from './signal-cleanup';

/**
 * A real redis-server as a child of the test process, for the backplane tests: bound to 127.0.0.1 on a port picked
 * here, persistence off (`--save '' --appendonly no`, so every start is empty), its own temporary directory, and
 * stopped by its pid (never by name). Servers still running when the test process exits are killed by an exit
 * hook, or by a signal handler when it is ended by SIGTERM / SIGINT / SIGHUP (test/support/signal-cleanup.ts). Needs /usr/bin/redis-server (Debian's `redis-server` package; .ci/run installs it).
 */

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';
/** The line redis-server prints once it accepts connections. */
const READY = /Ready to accept connections/;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

const running = new Set<ChildProcess>();
/** The temporary directories of the servers not stopped yet. */
const directories = new Set<string>();
/** Kills every server this process started and that still runs, and removes their directories. */
function killAll(): void {
  for (const child of running) {
    try {
      // A stopped (SIGSTOP) process ignores SIGTERM until continued; SIGKILL needs nothing.
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
}
process.once('exit', killAll);
// A SIGTERMed or SIGINTed test process runs no exit hook: this one does the same, then the signal ends it.
cleanupOnSignal(killAll);

/** Whether redis-server can be run here (the tests fail with this message otherwise, never skip silently). */
export function redisServerVersion(): string {
  const r = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new Error(`${REDIS_SERVER} is not installed (apt-get install redis-server): ${r.error?.message ?? r.stderr}`);
  return r.stdout.trim();
}

/** A free TCP port (asked from the OS on 127.0.0.1, then released; the start retries if it is taken meanwhile). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * TLS for a test server: its certificate and key, and the CA it trusts for clients (`tls-auth-clients yes`, redis's
 * default: clients present a certificate that CA issued). PEM file paths (test/support/test-pki.ts makes them).
 */
export interface RedisTls {
  ca: string;
  cert: string;
  key: string;
}

/** How redis-cli (the harness's own checks) logs in: an admin user, or the default user's password. */
export interface RedisCliAuth {
  user?: string;
  password: string;
}

export class RedisServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private output = '';
  private paused = false;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly extraArgs: string[],
    /** The address it binds to (127.0.0.1 unless a multi-host test gives its lab's). */
    readonly host: string,
    /** A configuration file's text (written to its directory, given first): a sentinel needs one it can rewrite. */
    private readonly config: string | null = null,
    /** The line that says it is ready. */
    private readonly ready: RegExp = READY,
    /** TLS only (`--port 0 --tls-port <port>`), or plain TCP (null). */
    readonly tls: RedisTls | null = null,
    /** How the harness's redis-cli logs in (null: as the default user without a password). */
    readonly cliAuth: RedisCliAuth | null = null,
  ) {}

  /**
   * Starts a redis-server on a free port (or on `port`), resolving once it accepts connections. `args`: more
   * configuration directives, e.g. `['--user', 'app on >pw ~gw:* +get']`. `tls`: TLS only, on `port` (plain TCP
   * off); `cliAuth`: how the harness's own redis-cli checks log in.
   */
  static async start(
    options: {
      port?: number;
      args?: string[];
      host?: string;
      config?: string;
      ready?: RegExp;
      tls?: RedisTls;
      cliAuth?: RedisCliAuth;
    } = {},
  ): Promise<RedisServer> {
    redisServerVersion();
    const port = options.port;
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(
        port ?? (await freePort()),
        mkdtempSync(join(tmpdir(), 'ngw-redis-')),
        options.args ?? [],
        options.host ?? '127.0.0.1',
        options.config ?? null,
        options.ready ?? READY,
        options.tls ?? null,
        options.cliAuth ?? null,
      );
      try {
        await server.spawn();
        return server;
      } catch (err) {
        await server.stop();
        // Another process took the port between the probe and the start: try another one.
        if (port !== undefined || attempt >= 3 || !/Address already in use/.test((err as Error).message)) throw err;
      }
    }
  }

  /** `redis://host:port`, or `rediss://…` with TLS (no credentials). */
  get url(): string {
    return `${this.tls ? 'rediss' : 'redis'}://${this.host}:${this.port}`;
  }

  /** redis-cli's arguments to reach this server (host, port, TLS files, login). */
  get cliArgs(): string[] {
    return ['-h', this.host, '-p', String(this.port), ...this.cliOptions];
  }

  /** redis-cli's TLS and login arguments for this server (without its address). */
  get cliOptions(): string[] {
    return [
      ...(this.tls ? ['--tls', '--cacert', this.tls.ca, '--cert', this.tls.cert, '--key', this.tls.key] : []),
      ...(this.cliAuth
        ? [
            ...(this.cliAuth.user ? ['--user', this.cliAuth.user] : []),
            '--pass',
            this.cliAuth.password,
            '--no-auth-warning',
          ]
        : []),
    ];
  }

  /** Runs redis-cli against this server (its TLS files and login); resolves with the output. */
  cli(...args: string[]): Promise<string> {
    return redisCli([...this.cliArgs, ...args]);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get isRunning(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGSTOP: the server keeps its sockets open and answers nothing (a hung Redis). */
  pause(): void {
    if (!this.isRunning || this.paused) return;
    this.child!.kill('SIGSTOP');
    this.paused = true;
  }

  /** SIGCONT after pause(). */
  resume(): void {
    if (!this.isRunning || !this.paused) return;
    this.child!.kill('SIGCONT');
    this.paused = false;
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<void> {
    if (this.isRunning) this.child!.kill('SIGKILL');
    this.paused = false;
    await this.exited;
  }

  /** Stopped and started again on the same port: empty, as persistence is off. */
  async restart(): Promise<void> {
    await this.stop(false);
    await this.spawn();
  }

  /** SIGTERM (SIGKILL after 5 s) and wait for the exit; removes the directory unless `keepDir`. */
  async stop(removeDir = true): Promise<void> {
    if (this.isRunning) {
      this.resume();
      this.child!.kill('SIGTERM');
      const timer = setTimeout(() => this.child?.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    if (removeDir) {
      rmSync(this.dir, { recursive: true, force: true });
      directories.delete(this.dir);
    }
  }

  private spawn(): Promise<void> {
    this.output = '';
    const configFile = join(this.dir, 'redis.conf');
    if (this.config !== null) writeFileSync(configFile, this.config);
    const args = [
      ...(this.config !== null ? [configFile] : []),
      '--bind',
      this.host,
      ...(this.tls
        ? [
            ...['--port', '0', '--tls-port', String(this.port)],
            ...['--tls-cert-file', this.tls.cert, '--tls-key-file', this.tls.key, '--tls-ca-cert-file', this.tls.ca],
          ]
        : ['--port', String(this.port)]),
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--dir',
      this.dir,
      '--loglevel',
      'notice',
      ...this.extraArgs,
    ];
    // The binary itself, no shell: its pid is the server's.
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    running.add(child);
    directories.add(this.dir);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        running.delete(child);
        resolve();
      }),
    );
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => fail(`redis-server did not become ready within ${START_TIMEOUT_MS} ms`),
        START_TIMEOUT_MS,
      );
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`${why}; output:\n${this.output}`));
      };
      const onData = (chunk: Buffer) => {
        this.output += chunk.toString('utf8');
        if (this.ready.test(this.output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('error', (err) => fail(err.message));
      child.once('exit', (code, signal) => fail(`redis-server exited (code ${code}, signal ${signal})`));
    });
  }
}

/** Runs redis-cli with `args`; resolves with its output, rejects when it fails. */
function redisCli(args: string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.REDIS_CLI_BIN ?? 'redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`redis-cli ${args.join(' ')} exited with ${code}:\n${out}`));
    });
  });
}

/** Polls `check` every 100 ms until it resolves true, or rejects after `timeoutMs` naming `what`. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A primary, its replicas and sentinels watching it, every one a redis-server child of the test on 127.0.0.1
 * (ports picked here, persistence off, own directories), for the backplane's Sentinel tests. Failovers are quick:
 * `down-after-milliseconds` and `failover-timeout` are short. Stopped by pid.
 */
export class RedisSentinelSet {
  private constructor(
    readonly name: string,
    /** The first primary (after a failover, a replica is the primary: see primaryPort()). */
    readonly primary: RedisServer,
    readonly replicas: RedisServer[],
    readonly sentinels: RedisServer[],
  ) {}

  /**
   * `tls`: every server TLS only (replication and the sentinels' links too); `dataPassword`: the data nodes'
   * default-user password (the replicas and sentinels log in with it), `dataArgs` more directives for them (ACL
   * users); `sentinelPassword`: the sentinels' `requirepass` (they use it between themselves too),
   * `sentinelConfig` more lines of their configuration (e.g. `user …`).
   */
  static async start(
    options: {
      replicas?: number;
      sentinels?: number;
      downAfterMs?: number;
      failoverTimeoutMs?: number;
      tls?: RedisTls;
      dataPassword?: string;
      dataArgs?: string[];
      sentinelPassword?: string;
      sentinelConfig?: string[];
    } = {},
  ): Promise<RedisSentinelSet> {
    const name = 'ngwprimary';
    const { tls, dataPassword, sentinelPassword } = options;
    const dataArgs = [
      ...(tls ? ['--tls-replication', 'yes'] : []),
      ...(dataPassword ? ['--requirepass', dataPassword, '--masterauth', dataPassword] : []),
      ...(options.dataArgs ?? []),
    ];
    const data = (args: string[] = []) =>
      RedisServer.start({
        args: [...dataArgs, ...args],
        tls,
        cliAuth: dataPassword ? { password: dataPassword } : undefined,
      });
    const primary = await data();
    const replicas: RedisServer[] = [];
    const sentinels: RedisServer[] = [];
    const set = new RedisSentinelSet(name, primary, replicas, sentinels);
    try {
      for (let i = 0; i < (options.replicas ?? 1); i++)
        replicas.push(await data(['--replicaof', '127.0.0.1', String(primary.port)]));
      const count = options.sentinels ?? 3;
      const quorum = Math.floor(count / 2) + 1;
      for (let i = 0; i < count; i++) {
        sentinels.push(
          await RedisServer.start({
            args: ['--sentinel'],
            ready: /\+monitor master/,
            tls,
            cliAuth: sentinelPassword ? { password: sentinelPassword } : undefined,
            config: [
              ...(tls ? ['tls-replication yes'] : []),
              ...(sentinelPassword ? [`requirepass ${sentinelPassword}`] : []),
              `sentinel monitor ${name} 127.0.0.1 ${primary.port} ${quorum}`,
              ...(dataPassword ? [`sentinel auth-pass ${name} ${dataPassword}`] : []),
              `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 500}`,
              `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 2_000}`,
              `sentinel parallel-syncs ${name} 1`,
              ...(options.sentinelConfig ?? []),
              '',
            ].join('\n'),
          }),
        );
      }
      await set.waitWatched();
      return set;
    } catch (err) {
      await set.stop();
      throw err;
    }
  }

  /** `redis+sentinel://127.0.0.1:<s1>,…/<name>` (`rediss+sentinel://` with TLS; no credentials). */
  get url(): string {
    return `${this.primary.tls ? 'rediss' : 'redis'}+sentinel://${this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${this.name}`;
  }

  /** Every server of the set. */
  get servers(): RedisServer[] {
    return [this.primary, ...this.replicas, ...this.sentinels];
  }

  /** The primary's port as the first running sentinel reports it now. */
  async primaryPort(): Promise<number> {
    const sentinel = this.sentinels.find((s) => s.isRunning)!;
    const out = await sentinel.cli('SENTINEL', 'get-master-addr-by-name', this.name);
    return Number(out.trim().split('\n')[1]);
  }

  /** The server listening on `port`. */
  server(port: number): RedisServer {
    const found = this.servers.find((s) => s.port === port);
    if (!found) throw new Error(`no server of the set on port ${port}`);
    return found;
  }

  /**
   * Waits until every sentinel knows every replica and every other sentinel (a failover needs both), and the
   * replicas are in sync with the primary.
   */
  async waitWatched(timeoutMs = 20_000): Promise<void> {
    await until(
      async () => {
        for (const s of this.sentinels) {
          const replicas = await s.cli('SENTINEL', 'replicas', this.name);
          const others = await s.cli('SENTINEL', 'sentinels', this.name);
          if ((replicas.match(/^name$/gm) ?? []).length < this.replicas.length) return false;
          if ((others.match(/^name$/gm) ?? []).length < this.sentinels.length - 1) return false;
        }
        for (const r of this.replicas) {
          const info = await r.cli('INFO', 'replication');
          if (!/master_link_status:up/.test(info)) return false;
        }
        return true;
      },
      'the sentinels see every replica and each other',
      timeoutMs,
    );
  }

  /** Waits until the sentinels name another primary than `oldPort` and it says it is one. */
  async waitFailover(oldPort: number, timeoutMs = 30_000): Promise<number> {
    let port = oldPort;
    await until(
      async () => {
        port = await this.primaryPort();
        if (port === oldPort) return false;
        return /role:master/.test(await this.server(port).cli('INFO', 'replication'));
      },
      'a failover',
      timeoutMs,
    );
    return port;
  }

  async stop(): Promise<void> {
    for (const s of [...this.sentinels].reverse()) await s.stop();
    for (const r of this.replicas) await r.stop();
    await this.primary.stop();
  }
}

/**
 * A Redis Cluster of `primaries` redis-server children on 127.0.0.1 (no replicas unless asked; ports and cluster-bus
 * ports picked here, persistence off, own directories), created with `redis-cli --cluster create`. Stopped by pid.
 */
export class RedisClusterSet {
  private constructor(
    readonly nodes: RedisServer[],
    /** How many of the nodes are primaries (the others replicate them). */
    readonly primaries: number,
  ) {}

  /**
   * `args`: more directives for every node, e.g. `['--user', 'app', 'on', …]`; `tls`: every node TLS only (the
   * cluster bus and replication too); `cliAuth`: how the harness's redis-cli logs in (when `args` lock it out).
   */
  static async start(
    options: { primaries?: number; replicas?: number; args?: string[]; tls?: RedisTls; cliAuth?: RedisCliAuth } = {},
  ): Promise<RedisClusterSet> {
    const primaries = options.primaries ?? 3;
    const replicas = options.replicas ?? 0;
    const nodes: RedisServer[] = [];
    const set = new RedisClusterSet(nodes, primaries);
    try {
      for (let i = 0; i < primaries * (1 + replicas); i++) {
        nodes.push(
          await RedisServer.start({
            args: [
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              'nodes.conf',
              // Short for quick failovers, not so short that a loaded test machine fails nodes over by itself.
              '--cluster-node-timeout',
              '2000',
              // The bus port: picked too (port + 10000 may be out of range or taken).
              '--cluster-port',
              String(await freePort()),
              ...(options.tls ? ['--tls-cluster', 'yes', '--tls-replication', 'yes'] : []),
              ...(options.args ?? []),
            ],
            tls: options.tls,
            cliAuth: options.cliAuth,
          }),
        );
      }
      await redisCli([
        ...nodes[0].cliOptions,
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ]);
      await until(
        async () => {
          for (const n of nodes) {
            const info = await n.cli('CLUSTER', 'INFO');
            if (!/cluster_state:ok/.test(info) || !/cluster_known_nodes:(\d+)/.test(info)) return false;
            if (Number(/cluster_known_nodes:(\d+)/.exec(info)![1]) !== nodes.length) return false;
          }
          return true;
        },
        'the cluster is ok on every node',
        20_000,
      );
      if (replicas > 0)
        await until(
          async () => {
            for (const n of nodes) {
              const info = await n.cli('INFO', 'replication');
              if (/role:slave/.test(info) && !/master_link_status:up/.test(info)) return false;
            }
            return true;
          },
          'every replica in sync',
          20_000,
        );
      return set;
    } catch (err) {
      await set.stop();
      throw err;
    }
  }

  /** `redis+cluster://127.0.0.1:<p1>,…` (`rediss+cluster://` with TLS; no credentials). */
  get url(): string {
    return `${this.nodes[0].tls ? 'rediss' : 'redis'}+cluster://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  }

  /** The port of the node serving `key`'s slot now. */
  async portOf(key: string): Promise<number> {
    const node = this.nodes.find((n) => n.isRunning)!;
    const slot = Number((await node.cli('CLUSTER', 'KEYSLOT', key)).trim());
    // A node's view can miss a slot for a moment (a primary marked failed under load while its replica takes over,
    // gossip still on its way): look again for a bounded time before giving up, with the view in the error.
    const deadline = Date.now() + PORT_OF_WAIT_MS;
    for (;;) {
      const lines = await this.nodeLines();
      const port = servingPort(lines, slot);
      if (port !== undefined) return port;
      if (Date.now() >= deadline) {
        throw new Error(
          `no node serves slot ${slot} (of ${key}); CLUSTER NODES:\n${lines.map((f) => f.join(' ')).join('\n')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** "<id> <ip:port@bus> <flags> <primary id> …" of every node, as a running node sees it now. */
  private async nodeLines(): Promise<string[][]> {
    const node = this.nodes.find((n) => n.isRunning)!;
    const out = await node.cli('CLUSTER', 'NODES');
    return out
      .trim()
      .split('\n')
      .map((line) => line.trim().split(' '));
  }

  /** The port of a replica of the primary on `port`. */
  async replicaOf(port: number): Promise<number> {
    const lines = await this.nodeLines();
    const primary = lines.find((f) => f[1].startsWith(`127.0.0.1:${port}@`));
    const replica = lines.find((f) => f[3] === primary?.[0] && !f[2].includes('fail'));
    if (!replica) throw new Error(`no replica of ${port}`);
    return Number(/:(\d+)@/.exec(replica[1])![1]);
  }

  /** Waits until the node on `port` is a primary serving slots, and the cluster is ok. */
  async waitPromoted(port: number, timeoutMs = 30_000): Promise<void> {
    await until(
      async () => {
        const info = await this.server(port).cli('CLUSTER', 'INFO');
        const me = (await this.nodeLines()).find((f) => f[1].startsWith(`127.0.0.1:${port}@`));
        return /cluster_state:ok/.test(info) && me !== undefined && me[2].includes('master') && me.length > 8;
      },
      `${port} promoted`,
      timeoutMs,
    );
  }

  /** The server listening on `port`. */
  server(port: number): RedisServer {
    const found = this.nodes.find((n) => n.port === port);
    if (!found) throw new Error(`no node on port ${port}`);
    return found;
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await n.stop();
  }
}

/** How long {@link RedisClusterSet.portOf} looks again for a node serving a slot. */
const PORT_OF_WAIT_MS = 10_000;

/** The primary serving `slot` in CLUSTER NODES lines, if one does. */
function servingPort(lines: string[][], slot: number): number | undefined {
  // "<id> <ip:port@bus> <flags> <primary> <ping> <pong> <epoch> <state> <slot ranges…>" per node.
  for (const fields of lines) {
    // A node flagged "fail?" by a slow ping (a loaded machine) still serves its slots.
    if (!fields[2]?.includes('master')) continue;
    const port = Number(/:(\d+)@/.exec(fields[1])?.[1]);
    for (const range of fields.slice(8)) {
      const [a, b] = range.split('-').map(Number);
      if (slot >= a && slot <= (b ?? a)) return port;
    }
  }
  return undefined;
}

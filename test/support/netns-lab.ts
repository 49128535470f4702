import { execFileSync, spawn } from 'node:child_process';
import { LoggedProcess } from './roles';
import { cleanupOnSignal } from './signal-cleanup';

/**
 * Several "hosts" on this machine for multi-host tests (Linux network namespaces, run as root): two bridges in
 * the root namespace, `mesh` (gateways, workers, clients) and `data` (Redis), each holding an address on its own
 * test subnet before any traffic, and one namespace per host with a veth on each bridge. Detaching a host's
 * `data` veth from its bridge cuts it off from Redis but not from its peers (a partition), attaching it heals it.
 *
 * Safety: every name carries this run's id (unique per run); before any traffic, `ip route get` must resolve every
 * address the test will reach to the lab's own bridge, or the lab refuses to start (so no packet can follow the
 * default route off the machine). destroy() removes everything, and an exit hook does it if the test process
 * ends first (a signal handler if it is ended by SIGTERM / SIGINT / SIGHUP: test/support/signal-cleanup.ts). Processes are started inside a namespace with `ip netns exec` (which execs: the pid is the
 * process's own) and stopped by pid.
 */

interface Host {
  name: string;
  ns: string;
  mesh: string;
  data: string;
  /** The root-side end of the host's data veth (detached from the bridge to cut the host off from Redis). */
  dataPeer: string;
  /** The root-side end of the host's mesh veth (detached too to cut the host off from everyone). */
  meshPeer: string;
}

/** Labs made by this process so far (a second lab in one process gets other names and another subnet). */
let made = 0;

const labs = new Set<NetnsLab>();
function destroyAll(): void {
  for (const lab of labs) lab.destroySync();
}
process.once('exit', destroyAll);
// A SIGTERMed or SIGINTed test process runs no exit hook: this one does the same, then the signal ends it.
cleanupOnSignal(destroyAll);

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs an ip command that may fail (cleanup of something half-made). */
function ipQuiet(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    // already gone
  }
}

/**
 * The first third octet from `preferred` on whose subnets (10.231.o.0/24, 10.232.o.0/24) no interface of this machine
 * has an address (another lab of another test process may be running).
 */
function freeOctet(preferred: number): number {
  const used = ip('-o', 'addr', 'show');
  for (let i = 0; i < 200; i++) {
    const o = 20 + ((preferred - 20 + i) % 200);
    if (!used.includes(`10.231.${o}.`) && !used.includes(`10.232.${o}.`)) return o;
  }
  throw new Error('netns lab: no free test subnet in 10.231.20-219.0/24');
}

export class NetnsLab {
  readonly id: string;
  /** Third octet of both subnets: 10.231.<n>.0/24 (mesh) and 10.232.<n>.0/24 (data). */
  private octet: number;
  private readonly preferredOctet: number;
  readonly meshBridge: string;
  readonly dataBridge: string;
  private readonly hosts = new Map<string, Host>();
  private readonly processes = new Set<LoggedProcess>();
  private created = false;

  constructor() {
    const n = made++;
    this.id = (process.pid % 100_000).toString(36) + (n === 0 ? '' : n.toString(36));
    this.preferredOctet = 20 + ((process.pid + n * 37) % 200);
    this.octet = this.preferredOctet;
    this.meshBridge = `ngm${this.id}`;
    this.dataBridge = `ngd${this.id}`;
  }

  /** The root namespace's address on the mesh bridge (clients, workers and SDKs run there). */
  get meshGateway(): string {
    return `10.231.${this.octet}.254`;
  }

  /** The root namespace's address on the data bridge (Redis binds to it). */
  get dataAddress(): string {
    return `10.232.${this.octet}.254`;
  }

  static async requireRoot(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error('network namespace tests need root (ip netns)');
  }

  /** Creates both bridges with their addresses (before any traffic). */
  create(): void {
    this.octet = freeOctet(this.preferredOctet);
    labs.add(this);
    this.created = true;
    for (const [bridge, address] of [
      [this.meshBridge, this.meshGateway],
      [this.dataBridge, this.dataAddress],
    ]) {
      ip('link', 'add', bridge, 'type', 'bridge');
      ip('addr', 'add', `${address}/24`, 'dev', bridge);
      ip('link', 'set', bridge, 'up');
    }
  }

  /** Adds host number `n` (1-200): namespace, a veth on each bridge, addresses 10.231.x.n and 10.232.x.n. */
  addHost(n: number): Host {
    const name = `h${n}`;
    const ns = `ngw${this.id}${name}`;
    const host: Host = {
      name,
      ns,
      mesh: `10.231.${this.octet}.${n}`,
      data: `10.232.${this.octet}.${n}`,
      dataPeer: `ngd${this.id}${n}p`,
      meshPeer: `ngm${this.id}${n}p`,
    };
    this.hosts.set(name, host);
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    for (const [kind, bridge, address] of [
      ['m', this.meshBridge, host.mesh],
      ['d', this.dataBridge, host.data],
    ]) {
      const inside = `ng${kind}${this.id}${n}e`;
      const outside = `ng${kind}${this.id}${n}p`;
      ip('link', 'add', inside, 'type', 'veth', 'peer', 'name', outside);
      ip('link', 'set', inside, 'netns', ns);
      ip('link', 'set', outside, 'master', bridge, 'up');
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', inside);
      ip('-n', ns, 'link', 'set', inside, 'up');
    }
    return host;
  }

  /**
   * Refuses to go on unless every address resolves, from the root namespace, to the lab's bridges (and from each
   * host to its own veths): then no test packet can leave the machine.
   */
  checkRoutes(): void {
    const expectDev = (out: string, dev: RegExp, what: string) => {
      if (!dev.test(out)) throw new Error(`netns lab: ${what} does not resolve to the lab's interface: ${out.trim()}`);
    };
    for (const host of this.hosts.values()) {
      expectDev(ip('route', 'get', host.mesh), new RegExp(`dev ${this.meshBridge} `), `${host.mesh} (root)`);
      expectDev(ip('route', 'get', host.data), new RegExp(`dev ${this.dataBridge} `), `${host.data} (root)`);
      expectDev(
        ip('-n', host.ns, 'route', 'get', this.dataAddress),
        /dev ngd\w+e /,
        `${this.dataAddress} (${host.ns})`,
      );
      expectDev(
        ip('-n', host.ns, 'route', 'get', this.meshGateway),
        /dev ngm\w+e /,
        `${this.meshGateway} (${host.ns})`,
      );
      // Host to host: over the lab's own veths too.
      for (const other of this.hosts.values()) {
        if (other === host) continue;
        expectDev(ip('-n', host.ns, 'route', 'get', other.mesh), /dev ngm\w+e /, `${other.mesh} (${host.ns})`);
        expectDev(ip('-n', host.ns, 'route', 'get', other.data), /dev ngd\w+e /, `${other.data} (${host.ns})`);
      }
    }
  }

  host(name: string): Host {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host ${name}`);
    return host;
  }

  /** Cuts `host` off from the data bridge (Redis), not from the mesh. */
  cutFromData(name: string): void {
    ip('link', 'set', this.host(name).dataPeer, 'nomaster');
  }

  healData(name: string): void {
    ip('link', 'set', this.host(name).dataPeer, 'master', this.dataBridge);
  }

  /** Cuts `host` off from everyone: Redis, the other hosts and the root namespace (both veths detached). */
  cutAll(name: string): void {
    ip('link', 'set', this.host(name).meshPeer, 'nomaster');
    ip('link', 'set', this.host(name).dataPeer, 'nomaster');
  }

  healAll(name: string): void {
    ip('link', 'set', this.host(name).meshPeer, 'master', this.meshBridge);
    ip('link', 'set', this.host(name).dataPeer, 'master', this.dataBridge);
  }

  /** Every host's namespace name (for a test's own checks). */
  get hostNames(): string[] {
    return [...this.hosts.keys()];
  }

  /** Starts `node <main>` inside host `name`'s namespace with exactly `env` (plus PATH and NO_COLOR). */
  spawnNode(name: string, label: string, main: string, env: Record<string, string>): LoggedProcess {
    const child = spawn('ip', ['netns', 'exec', this.host(name).ns, process.execPath, main], {
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new LoggedProcess(label, child);
    this.processes.add(p);
    void p.exited.then(() => this.processes.delete(p));
    return p;
  }

  /** Stops the lab's processes, then removes namespaces (their veths go with them) and bridges. */
  async destroy(): Promise<void> {
    await Promise.all([...this.processes].map((p) => p.stop()));
    this.destroySync();
  }

  destroySync(): void {
    for (const p of this.processes) if (p.running) p.child.kill('SIGKILL');
    if (!this.created) return;
    for (const host of this.hosts.values()) {
      ipQuiet('link', 'del', host.dataPeer);
      ipQuiet('link', 'del', host.meshPeer);
      ipQuiet('netns', 'del', host.ns);
    }
    ipQuiet('link', 'del', this.meshBridge);
    ipQuiet('link', 'del', this.dataBridge);
    this.hosts.clear();
    this.created = false;
    labs.delete(this);
  }
}

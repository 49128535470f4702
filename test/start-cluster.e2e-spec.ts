import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { TestClient } from './support/ws-client';

/**
 * `npm start` (scripts/start-cluster.js): one launcher starting register, gateway and worker as child
 * processes, generating a secret when none is set, and taking all three down on SIGTERM.
 */

// The e2e project's testTimeout is not applied per project by Jest; every wait below is bounded on its own.

const ROOT = resolve(__dirname, '..');
const LAUNCHER = resolve(ROOT, 'scripts', 'start-cluster.js');
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

class Launcher {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];

  constructor(readonly child: ChildProcess) {
    // stdout and stderr are split separately, so a chunk of one never cuts a line of the other.
    for (const stream of [child.stdout!, child.stderr!]) {
      let partial = '';
      stream.on('data', (chunk: Buffer) => {
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop()!;
        for (const raw of parts) this.onLine(raw.replace(ANSI, ''));
      });
    }
    this.exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  }

  get output(): string {
    return this.lines.join('\n');
  }

  /** The pids the launcher's children print in their Nest log prefix ("[register] [Nest] PID  - ..."). */
  get rolePids(): Map<string, number> {
    const pids = new Map<string, number>();
    for (const line of this.lines) {
      const m = /^\[(register|gateway|worker)\] \[Nest\] (\d+)/.exec(line);
      if (m && !pids.has(m[1])) pids.set(m[1], Number(m[2]));
    }
    return pids;
  }

  waitFor(re: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
    for (const line of this.lines) {
      const m = re.exec(line);
      if (m) return Promise.resolve(m);
    }
    return new Promise((resolveWait, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`start-cluster printed no line matching ${re} within ${timeoutMs} ms; output:\n${this.output}`));
      }, timeoutMs);
      const waiter = {
        re,
        resolve: (m: RegExpExecArray) => {
          clearTimeout(timer);
          resolveWait(m);
        },
      };
      this.waiters.push(waiter);
      // A launcher that exits will print nothing more: fail now, with what it said.
      void this.exited.then(({ code, signal }) => {
        if (!this.waiters.includes(waiter)) return;
        this.waiters = this.waiters.filter((w) => w !== waiter);
        clearTimeout(timer);
        reject(new Error(`start-cluster exited (code ${code}, signal ${signal}) before printing a line matching ${re}; output:\n${this.output}`));
      });
    });
  }

  private onLine(line: string): void {
    this.lines.push(line);
    for (const w of [...this.waiters]) {
      const m = w.re.exec(line);
      if (m) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(m);
      }
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

function killQuietly(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

describe('scripts/start-cluster.js', () => {
  let launcher: Launcher | null = null;
  let client: TestClient | null = null;

  afterEach(async () => {
    client?.close();
    client = null;
    if (!launcher) return;
    // Leftovers of a failed test, by pid: the three roles first, then the launcher itself.
    for (const pid of launcher.rolePids.values()) killQuietly(pid);
    const { child } = launcher;
    if (child.exitCode === null && child.signalCode === null) {
      killQuietly(child.pid);
      await launcher.exited;
    }
    launcher = null;
  });

  it('starts a working cluster with a generated secret it never prints, and SIGTERM stops all three roles', async () => {
    const child = spawn(process.execPath, [LAUNCHER], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NO_COLOR: '1',
        REGISTER_LISTEN: '127.0.0.1:0',
        GATEWAY_LISTEN: 'ws://127.0.0.1:0',
        GATEWAY_START_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    launcher = new Launcher(child);

    const [, url] = await launcher.waitFor(/GatewayWorker cluster ready: connect a WebSocket client to (ws:\/\/127\.0\.0\.1:\d+)/);
    client = await TestClient.open(url);
    client.send('hello cluster');
    expect(await client.text(0)).toBe('hello cluster');
    expect(client.received[0].binary).toBe(false);

    expect(launcher.output).toMatch(/SECRET_KEY not set; generated a random one/);
    expect(launcher.output).not.toMatch(/[0-9a-f]{48}/i);

    const pids = launcher.rolePids;
    expect([...pids.keys()].sort()).toEqual(['gateway', 'register', 'worker']);
    for (const pid of pids.values()) expect(isAlive(pid)).toBe(true);

    client.close();
    client = null;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      launcher.exited,
      new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), 15_000))),
    ]);
    clearTimeout(timer);
    // SIGTERM is an orderly stop: status 0 once the three are down.
    expect(outcome).toEqual({ code: 0, signal: null });

    const deadline = Date.now() + 5_000;
    let alive = [...pids].filter(([, pid]) => isAlive(pid));
    while (alive.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      alive = alive.filter(([, pid]) => isAlive(pid));
    }
    expect(alive).toEqual([]);
  });
});

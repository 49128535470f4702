import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { exampleWorkerApi, waitUntilLinked } from './example-worker-api';

/**
 * Starting the built apps (dist/apps/<role>/main.js) as real processes for end-to-end tests, reading their
 * log lines, and stopping them. Every process started here is tracked and killed by pid in stopAll().
 */
export type Role = 'register' | 'gateway' | 'worker';

const ROOT = resolve(__dirname, '..', '..');
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** A secret good enough for tests (never a real one). */
export const TEST_SECRET = 'test-secret-0123456789abcdef';

/** A child process whose stdout and stderr lines (ANSI colours removed) can be awaited, bounded in time. */
export class LoggedProcess {
  readonly lines: string[] = [];
  private waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  /** Resolves with the exit code (null when killed by a signal, see `child.signalCode`). */
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    // stdout and stderr are split separately, so a chunk of one never cuts a line of the other.
    for (const stream of [child.stdout!, child.stderr!]) {
      let partial = '';
      stream.on('data', (chunk: Buffer) => {
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop()!;
        for (const raw of parts) this.onLine(raw.replace(ANSI, ''));
      });
    }
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  get output(): string {
    return this.lines.join('\n');
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Resolves with the first line (already seen or coming) matching `re`; rejects after `timeoutMs`, or as soon
   * as the process exits without printing one.
   */
  waitFor(re: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    for (const line of this.lines) {
      const m = re.exec(line);
      if (m) return Promise.resolve(m);
    }
    return new Promise((resolveWait, reject) => {
      const fail = (why: string) => {
        if (!this.waiters.includes(waiter)) return;
        this.waiters = this.waiters.filter((w) => w !== waiter);
        clearTimeout(timer);
        reject(new Error(`${this.name} (pid ${this.child.pid}) ${why} a line matching ${re}; output:\n${this.output}`));
      };
      const waiter = {
        re,
        resolve: (m: RegExpExecArray) => {
          clearTimeout(timer);
          resolveWait(m);
        },
      };
      const timer = setTimeout(() => fail(`printed within ${timeoutMs} ms no`), timeoutMs);
      this.waiters.push(waiter);
      void this.exited.then((code) => fail(`exited (code ${code}, signal ${this.child.signalCode}) before printing`));
    });
  }

  /** Sends SIGTERM and waits for the exit (SIGKILL after 5 s). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): Promise<number | null> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
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

/** One of the built apps. */
export class RoleProcess extends LoggedProcess {
  constructor(
    readonly role: Role,
    child: ChildProcess,
  ) {
    super(role, child);
  }
}

const started = new Set<RoleProcess>();

/** Starts one built app with exactly `env` (plus PATH and NO_COLOR). */
export function startRole(role: Role, env: Record<string, string>, limits: { openFiles?: number } = {}): RoleProcess {
  const main = resolve(ROOT, 'dist', 'apps', role, 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  // util-linux's prlimit sets the limit and execs node: the child's pid is the role's.
  const [command, args] =
    limits.openFiles === undefined
      ? [process.execPath, [main]]
      : ['prlimit', [`--nofile=${limits.openFiles}:${limits.openFiles}`, process.execPath, main]];
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p = new RoleProcess(role, child);
  started.add(p);
  void p.exited.then(() => started.delete(p));
  return p;
}

/** Stops every process this file started and that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((p) => p.stop()));
}

/**
 * A register on an ephemeral port; resolves with the process and its "host:port". The port is known only from
 * the documented ready line "Register listening on <host:port>", so this log wait is kept on purpose (as is the
 * gateway's "Gateway ready: clients <urls>, inner <addr>" below); every other wait observes state.
 */
export async function startRegister(env: Record<string, string> = {}): Promise<{ proc: RoleProcess; address: string }> {
  const proc = startRole('register', { SECRET_KEY: TEST_SECRET, REGISTER_LISTEN: '127.0.0.1:0', ...env });
  const [, address] = await proc.waitFor(/Register listening on (\S+)/);
  return { proc, address };
}

/**
 * A gateway with ephemeral ports; resolves with its first client URL (`url`), every client URL in
 * GATEWAY_LISTEN order (`urls`, with the bound ports) and its inner address.
 */
export async function startGateway(
  registerAddress: string,
  env: Record<string, string> = {},
  limits: { openFiles?: number } = {},
): Promise<{ proc: RoleProcess; url: string; urls: string[]; inner: string }> {
  const proc = startRole(
    'gateway',
    {
      SECRET_KEY: TEST_SECRET,
      REGISTER_ADDRESS: registerAddress,
      GATEWAY_LISTEN: 'ws://127.0.0.1:0',
      GATEWAY_START_PORT: '0',
      ...env,
    },
    limits,
  );
  // "Gateway ready: clients <url>[, <url>...], inner <lanIp:port>"
  const [, list, inner] = await proc.waitFor(/Gateway ready: clients (\S+(?:, \S+)*), inner (\S+)/);
  const urls = list.split(', ');
  return { proc, url: urls[0], urls, inner };
}

/**
 * The example (echo) worker; when `gatewayInner` is given, resolves once the worker is linked to that gateway
 * (seen through the worker's HTTP API: the gateway answers it over the worker's link and counts a worker).
 */
export async function startWorker(
  registerAddress: string,
  env: Record<string, string> = {},
  gatewayInner?: string,
): Promise<RoleProcess> {
  const proc = startRole('worker', {
    SECRET_KEY: TEST_SECRET,
    REGISTER_ADDRESS: registerAddress,
    HTTP_LISTEN: '127.0.0.1:0',
    ...env,
  });
  if (gatewayInner) await waitUntilLinked(await exampleWorkerApi(proc), [gatewayInner]);
  return proc;
}

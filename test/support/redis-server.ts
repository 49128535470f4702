import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real redis-server as a child of the test process, for the backplane tests: bound to 127.0.0.1 on a port picked
 * here, persistence off (`--save '' --appendonly no`, so every start is empty), its own temporary directory, and
 * stopped by its pid (never by name). Servers still running when the test process exits are killed by an exit
 * hook. Needs /usr/bin/redis-server (Debian's `redis-server` package; .ci/run installs it).
 */

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';
/** The line redis-server prints once it accepts connections. */
const READY = /Ready to accept connections/;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    try {
      // A stopped (SIGSTOP) process ignores SIGTERM until continued; SIGKILL needs nothing.
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Whether redis-server can be run here (the tests fail with this message otherwise, never skip silently). */
export function redisServerVersion(): string {
  const r = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new Error(`${REDIS_SERVER} is not installed (apt-get install redis-server): ${r.error?.message ?? r.stderr}`);
  return r.stdout.trim();
}

/** A free TCP port (asked from the OS on 127.0.0.1, then released; the start retries if it is taken meanwhile). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
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
  ) {}

  /**
   * Starts a redis-server on a free port (or on `port`), resolving once it accepts connections. `args`: more
   * configuration directives, e.g. `['--user', 'app on >pw ~gw:* +get']`.
   */
  static async start(options: { port?: number; args?: string[]; host?: string } = {}): Promise<RedisServer> {
    redisServerVersion();
    const port = options.port;
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(
        port ?? (await freePort()),
        mkdtempSync(join(tmpdir(), 'ngw-redis-')),
        options.args ?? [],
        options.host ?? '127.0.0.1',
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

  get url(): string {
    return `redis://${this.host}:${this.port}`;
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
    if (removeDir) rmSync(this.dir, { recursive: true, force: true });
  }

  private spawn(): Promise<void> {
    this.output = '';
    const args = [
      '--bind',
      this.host,
      '--port',
      String(this.port),
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
        if (READY.test(this.output)) {
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

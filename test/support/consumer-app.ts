import { spawn } from 'node:child_process';
import { connect, createServer, type Server } from 'node:net';
import { LoggedProcess } from './roles';

/**
 * Running commands in a consumer app directory outside the repository (test/consumer-apps.e2e-spec.ts): npm,
 * npx and node as real processes, each in a process group of its own, bounded in time and stopped by group.
 */

/**
 * This process's environment without what `npm test` adds for its own run (npm_lifecycle_*, npm_package_*, the
 * repository as npm's local prefix, INIT_CWD): a command started in another directory must see that directory
 * as its project. npm settings a CI machine passes as npm_config_* (registry, cache, cafile) are kept.
 */
export function consumerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const k = key.toLowerCase();
    if (k.startsWith('npm_') && !k.startsWith('npm_config_')) continue;
    if (['npm_config_local_prefix', 'npm_config_call', 'npm_config_yes', 'init_cwd'].includes(k)) continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/**
 * A command started in its own process group (`detached`), so that stopping it reaches what it started too:
 * `npx gateway-worker gateway` is npm, a shell and the node process of the role, and npm does not pass SIGTERM
 * on to the role.
 */
export class GroupProcess extends LoggedProcess {
  private static readonly started = new Set<GroupProcess>();

  constructor(name: string, command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
    super(name, spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
    GroupProcess.started.add(this);
  }

  /** Whether any process of the group is still there. */
  get groupAlive(): boolean {
    const pgid = this.child.pid;
    if (pgid === undefined) return false;
    try {
      process.kill(-pgid, 0);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw err;
    }
  }

  /** `signal` to every process of the group; false if none is left. */
  signalGroup(signal: NodeJS.Signals): boolean {
    try {
      process.kill(-this.child.pid!, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM to the group, then SIGKILL to what is left after `graceMs`; waits (bounded) until the group is gone. */
  async stopGroup(graceMs = 15_000): Promise<void> {
    GroupProcess.started.delete(this);
    if (this.child.pid === undefined || !this.signalGroup('SIGTERM')) return;
    if (await this.groupGoneWithin(graceMs)) return;
    this.signalGroup('SIGKILL');
    await this.groupGoneWithin(2_000);
  }

  /** Stops every group started here and not stopped yet. */
  static async stopAll(): Promise<void> {
    await Promise.all([...GroupProcess.started].map((p) => p.stopGroup()));
  }

  private async groupGoneWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.groupAlive) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    return true;
  }
}

/**
 * Runs a command to completion within `timeoutMs` (its whole group is killed after that); resolves with its
 * output, rejects with the output if it fails.
 */
export async function runCommand(
  command: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = consumerEnv(),
): Promise<string> {
  const proc = new GroupProcess(`${command} ${args.join(' ')}`, command, args, cwd, env);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
  const code = await Promise.race([proc.exited, timedOut]);
  clearTimeout(timer);
  if (code === 'timeout') {
    await proc.stopGroup(1_000);
    throw new Error(`\`${proc.name}\` in ${cwd} did not finish within ${timeoutMs} ms; output:\n${proc.output}`);
  }
  await proc.stopGroup(1_000); // anything it left behind in its group
  if (code !== 0)
    throw new Error(
      `\`${proc.name}\` in ${cwd} failed (exit ${code}, signal ${proc.child.signalCode}); output:\n${proc.output}`,
    );
  return proc.output;
}

/** `count` distinct ports that were free on 127.0.0.1 a moment ago (all held open together, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/**
 * Waits (bounded) until 127.0.0.1:`port` accepts a TCP connection; fails early, with its output, if `proc`
 * (the process expected to listen there) exits first.
 */
export async function waitForPort(port: number, proc: LoggedProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    if (!proc.running || Date.now() > deadline) {
      const why = proc.running
        ? `within ${timeoutMs} ms`
        : `(it exited: code ${proc.child.exitCode}, signal ${proc.child.signalCode})`;
      throw new Error(
        `${proc.name} (pid ${proc.child.pid}) did not accept connections on 127.0.0.1:${port} ${why}; output:\n${proc.output}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

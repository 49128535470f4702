import { readFileSync } from 'node:fs';
import { startRole, TEST_SECRET, type LoggedProcess, type RoleProcess } from './roles';

/**
 * Helpers for tests of GATEWAY_COUNT / WORKER_COUNT clusters and of clean exits: Nest log lines by pid and
 * level, waiting for several matching lines (the primaries' documented ready lines, the only place their
 * children's pids and addresses appear), and pids that must be gone. Exit codes within a bound: eventually.ts.
 */

/**
 * One Nest log line: "[Nest] 1234  - 11/21/2026, 3:01:20 PM     LOG [Gateway] text", possibly prefixed by
 * scripts/start-cluster.js with the role ("[gateway] [Nest] ...").
 */
export interface NestLine {
  pid: number;
  level: string;
  context: string;
  text: string;
}

const NEST_LINE = /^(?:\[\w+\] )?\[Nest\] (\d+)\s+-\s+.*?\s+(LOG|ERROR|WARN|DEBUG|VERBOSE|FATAL) \[([^\]]+)\] (.*)$/;

export function nestLines(proc: LoggedProcess): NestLine[] {
  return proc.lines.flatMap((line) => {
    const m = NEST_LINE.exec(line);
    return m ? [{ pid: Number(m[1]), level: m[2], context: m[3], text: m[4] }] : [];
  });
}

/** Lines logged at ERROR or FATAL level, and anything that looks like a stack trace or an unhandled error. */
export function errorLines(proc: LoggedProcess): string[] {
  return proc.lines.filter((line) => {
    const m = NEST_LINE.exec(line);
    if (m) return m[2] === 'ERROR' || m[2] === 'FATAL';
    return /^\s+at |Unhandled|Error:/.test(line);
  });
}

/** Waits (bounded) until `count` Nest lines match `re`; resolves with the matches and the pid of each line. */
export async function waitForNestLines(
  proc: LoggedProcess,
  re: RegExp,
  count: number,
  timeoutMs = 20_000,
): Promise<{ pid: number; match: RegExpExecArray }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = nestLines(proc).flatMap((l) => {
      const match = re.exec(l.text);
      return match ? [{ pid: l.pid, match }] : [];
    });
    if (found.length >= count) return found.slice(0, count);
    if (Date.now() > deadline || !proc.running) {
      const why = proc.running
        ? `within ${timeoutMs} ms`
        : `before it exited (code ${proc.child.exitCode}, signal ${proc.child.signalCode})`;
      throw new Error(
        `${proc.name} (pid ${proc.child.pid}) printed ${found.length} of ${count} line(s) matching ${re} ${why}; output:\n${proc.output}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits (bounded) until process `pid` is stopped (SIGSTOP took effect: state "T" in /proc/<pid>/stat), so that what
 * a test does next cannot still be served by it. Where /proc is not available it returns at once.
 */
export async function waitUntilStopped(pid: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let state: string;
    try {
      // "pid (comm) state ...": the state follows the last ")" (comm may contain spaces and parentheses).
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return;
    }
    if (state === 'T') return;
    if (Date.now() > deadline) throw new Error(`process ${pid} not stopped within ${timeoutMs} ms (state ${state})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** Waits (bounded) until none of `pids` is alive; returns those still alive at the deadline. */
export async function waitGone(pids: number[], timeoutMs = 5_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    alive = alive.filter(isAlive);
  }
  return alive;
}

/** SIGKILL for pids this test started (cluster children) that a failed test may have left behind. */
export function killQuietly(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The inner port embedded in a client_id (20 hex: 8 hex IPv4, 4 hex port, 8 hex connection id). */
export function innerPortOfClientId(clientId: string): number {
  return parseInt(clientId.slice(8, 12), 16);
}

export interface GatewayCluster {
  proc: RoleProcess;
  /** Client URL; every process of the cluster shares the port. */
  url: string;
  children: { pid: number; inner: string }[];
}

/** A gateway primary with `count` children on ephemeral ports; resolves once all are ready. */
export async function startGatewayCluster(
  registerAddress: string,
  count: number,
  env: Record<string, string> = {},
): Promise<GatewayCluster> {
  const proc = startRole('gateway', {
    SECRET_KEY: TEST_SECRET,
    REGISTER_ADDRESS: registerAddress,
    GATEWAY_LISTEN: 'ws://127.0.0.1:0',
    GATEWAY_START_PORT: '0',
    GATEWAY_COUNT: String(count),
    ...env,
  });
  await waitForNestLines(proc, new RegExp(`^${count} gateway processes ready`), 1, 30_000);
  const ready = await waitForNestLines(proc, /^Gateway ready: clients (\S+), inner (\S+)/, count);
  return { proc, url: ready[0].match[1], children: ready.map(({ pid, match }) => ({ pid, inner: match[2] })) };
}

/** A worker primary (the example app) with `count` children; resolves once all are ready. */
export async function startWorkerCluster(
  registerAddress: string,
  count: number,
  env: Record<string, string> = {},
): Promise<{ proc: RoleProcess; pids: number[] }> {
  const proc = startRole('worker', {
    SECRET_KEY: TEST_SECRET,
    REGISTER_ADDRESS: registerAddress,
    HTTP_LISTEN: '127.0.0.1:0',
    WORKER_COUNT: String(count),
    ...env,
  });
  const [{ match }] = await waitForNestLines(
    proc,
    new RegExp(`^${count} worker processes ready \\(pids ([\\d, ]+)\\)`),
    1,
    30_000,
  );
  return { proc, pids: match[1].split(', ').map(Number) };
}

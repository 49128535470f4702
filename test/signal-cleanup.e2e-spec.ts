import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { eventually } from './support/eventually';
import { NetnsLab } from './support/netns-lab';
import { LoggedProcess } from './support/roles';

/**
 * A test process ended by a signal removes what it created (test/support/signal-cleanup.ts): a child node process
 * (test/support/signal-cleanup-child.ts) creates a network namespace lab and a redis-server, is sent SIGTERM or
 * SIGINT, and must end by that signal with its namespace, bridges, veths, redis-server and its directory gone.
 * Only what that child reported it made is checked (other tests' labs may run at the same time).
 */
const ROOT = resolve(__dirname, '..');
const CHILD = resolve(__dirname, 'support', 'signal-cleanup-child.ts');

interface Made {
  namespaces: string[];
  links: string[];
  redisPid: number;
  redisDir: string;
}

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter(Boolean);
}

function linkExists(name: string): boolean {
  try {
    execFileSync('ip', ['link', 'show', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** What the child left behind if its cleanup failed (the test fails then; the machine is still left clean). */
function removeLeftovers(made: Made): void {
  for (const link of made.links.filter(linkExists)) execFileSync('ip', ['link', 'del', link], { stdio: 'ignore' });
  for (const ns of namespaces().filter((n) => made.namespaces.includes(n)))
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  if (alive(made.redisPid) && readFileSync(`/proc/${made.redisPid}/cmdline`, 'utf8').startsWith('redis-server'))
    process.kill(made.redisPid, 'SIGKILL');
  rmSync(made.redisDir, { recursive: true, force: true });
}

describe('cleanup when a test process is ended by a signal', () => {
  beforeAll(() => NetnsLab.requireRoot());

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: the lab's namespace and links and the redis-server are gone, and the process ends by ${signal}`, async () => {
      const child = new LoggedProcess(
        `signal-cleanup child (${signal})`,
        spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CHILD], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
      let made: Made | null = null;
      try {
        const [, json] = await child.waitFor(/^made (\{.*\})$/, 30_000);
        const m = (made = JSON.parse(json) as Made);
        // Everything it reported exists now.
        expect(namespaces()).toEqual(expect.arrayContaining(m.namespaces));
        for (const link of m.links) expect(linkExists(link)).toBe(true);
        expect(alive(m.redisPid)).toBe(true);
        expect(existsSync(m.redisDir)).toBe(true);

        child.child.kill(signal);
        await child.exited;
        expect(child.child.signalCode).toBe(signal);
        expect(namespaces().filter((ns) => m.namespaces.includes(ns))).toEqual([]);
        expect(m.links.filter(linkExists)).toEqual([]);
        await eventually(
          () => alive(m.redisPid),
          (a) => !a,
          `redis-server ${m.redisPid} gone`,
          5_000,
          20,
        );
        expect(existsSync(m.redisDir)).toBe(false);
      } finally {
        if (child.running) child.child.kill('SIGKILL');
        await child.exited;
        if (made) removeLeftovers(made);
      }
    }, 60_000);
  }
});

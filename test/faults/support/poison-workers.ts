import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { LoggedProcess, TEST_SECRET } from '../../support/roles';

const ROOT = resolve(__dirname, '..', '..', '..');
const FIXTURE = resolve(__dirname, 'poison-worker.ts');

/**
 * Worker processes of the poison fixture (./poison-worker.ts), kept at a fixed count: each one that exits is counted
 * as a death and started again under the same name, as a supervisor would, up to `maxDeaths` (so that a test of a
 * build without the bound still ends). Every process started here is killed by pid in {@link stop}.
 */
export class PoisonWorkers {
  /** Every process started, in order, dead or alive. */
  readonly started: LoggedProcess[] = [];
  /** Exit codes of the processes that died (null: killed by a signal), in order. */
  readonly deaths: (number | null)[] = [];
  private stopping = false;

  constructor(
    private readonly registerAddress: string,
    names: string[],
    private readonly maxDeaths: number,
  ) {
    for (const name of names) this.start(name);
  }

  /** Lines printed by every process started, in order of the processes. */
  lines(): string[] {
    return this.started.flatMap((p) => p.lines);
  }

  /** Stops restarting, then kills (SIGTERM, SIGKILL after 5 s) every process still running. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.started.map((p) => p.stop()));
  }

  private start(name: string): void {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', FIXTURE], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NO_COLOR: '1',
        SECRET_KEY: TEST_SECRET,
        REGISTER_ADDRESS: this.registerAddress,
        WORKER_NAME: name,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new LoggedProcess(`poison worker ${name}`, child);
    this.started.push(p);
    void p.exited.then((code) => {
      if (this.stopping) return;
      this.deaths.push(code);
      if (this.deaths.length < this.maxDeaths) this.start(name);
    });
  }
}

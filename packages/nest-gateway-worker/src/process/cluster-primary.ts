import { Logger } from '@nestjs/common';
import cluster, { type Worker } from 'node:cluster';
import { CONFIG_ERROR_EXIT_CODE, isProcessMessage, SHUTDOWN_MESSAGE } from './cluster-messages';

export interface ClusterPrimaryOptions {
  /** Logger context and the name in log lines, e.g. "Gateway". */
  role: string;
  /** Child processes to keep running (GATEWAY_COUNT, WORKER_COUNT). */
  count: number;
  /**
   * Variable giving each child its index, 0 .. count-1 (e.g. GATEWAY_INDEX). A restarted child gets the index
   * of the one it replaces, so gateway process i keeps inner port startPort + i.
   */
  indexVariable: string;
  /**
   * How long the children may take to stop after a SIGINT / SIGTERM of the primary, in milliseconds; past it
   * they are killed and the primary exits 1. Set it above the children's own shutdown bound.
   */
  shutdownTimeoutMs: number;
  /** Delay before restarting a crashed child, in milliseconds; doubles per consecutive crash. Default 1 000. */
  restartDelayMs?: number;
  /** Upper bound of the restart delay, in milliseconds. Default 30 000. */
  maxRestartDelayMs?: number;
  /** A child that ran at least this long before it crashed starts the backoff over, in milliseconds. Default 60 000. */
  stableAfterMs?: number;
}

/** One child position: its index is fixed, the process in it changes on restarts. */
interface Slot {
  readonly index: number;
  worker: Worker | null;
  /** The current process has reported ready. */
  ready: boolean;
  startedAt: number;
  /** Consecutive crashes, for the restart backoff. */
  crashes: number;
  restartTimer: NodeJS.Timeout | null;
}

/**
 * The primary of a Node cluster running `count` processes of one role (GATEWAY_COUNT / WORKER_COUNT), so one
 * host uses all its cores. It runs no role itself: it forks the children (they share its stdout and stderr,
 * and Node's cluster module shares their client and HTTP listening ports), restarts a child that dies, and on
 * SIGINT / SIGTERM asks every child to shut down gracefully, waits for them (bounded) and exits 0.
 *
 * Start-up is all or nothing, as for a single process: a child that fails before the whole cluster was ready
 * once (a port in use, an unreachable dependency) stops the cluster with status 1 instead of being retried in a
 * loop; so does a child reporting a configuration error at any time.
 */
export class ClusterPrimary {
  private readonly logger: Logger;
  private readonly noun: string;
  private readonly slots: Slot[];
  /** Set once every child has reported ready; before that, any child exit fails the start-up. */
  private started = false;
  private stopping = false;
  private exitCode = 0;
  private signals = 0;
  private resolveStarted: (() => void) | null = null;

  constructor(private readonly options: ClusterPrimaryOptions) {
    this.logger = new Logger(`${options.role}Primary`);
    this.noun = options.role.toLowerCase();
    this.slots = Array.from({ length: options.count }, (_, index) => ({
      index,
      worker: null,
      ready: false,
      startedAt: 0,
      crashes: 0,
      restartTimer: null,
    }));
  }

  /** Forks the children; resolves once every one has reported ready. */
  start(): Promise<void> {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => this.onSignal(signal));
    this.logger.log(`starting ${this.options.count} ${this.noun} processes (primary pid ${process.pid})`);
    const started = new Promise<void>((resolve) => (this.resolveStarted = resolve));
    for (const slot of this.slots) this.fork(slot);
    return started;
  }

  private fork(slot: Slot): void {
    slot.restartTimer = null;
    const worker = cluster.fork({ [this.options.indexVariable]: String(slot.index) });
    slot.worker = worker;
    slot.ready = false;
    slot.startedAt = Date.now();
    worker.on('message', (message: unknown) => {
      if (isProcessMessage(message, 'ready')) this.onReady(slot, worker);
    });
    worker.on('exit', (code: number | null, signal: string | null) => this.onExit(slot, worker, code, signal));
  }

  private describe(slot: Slot, worker: Worker): string {
    return `${this.noun} process #${slot.index} (pid ${worker.process.pid})`;
  }

  private onReady(slot: Slot, worker: Worker): void {
    if (this.stopping || slot.worker !== worker) return;
    slot.ready = true;
    if (this.started) {
      this.logger.log(`${this.describe(slot, worker)} restarted and ready`);
      return;
    }
    if (this.slots.every((s) => s.ready)) {
      this.started = true;
      const pids = this.slots.map((s) => s.worker!.process.pid).join(', ');
      this.logger.log(`${this.options.count} ${this.noun} processes ready (pids ${pids})`);
      this.resolveStarted?.();
    }
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker === worker) {
      slot.worker = null;
      slot.ready = false;
    }
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (this.stopping) {
      if (code !== 0) {
        this.exitCode = 1;
        this.logger.warn(`${this.describe(slot, worker)} stopped with ${how}`);
      }
      this.exitWhenAllStopped();
      return;
    }
    if (code === CONFIG_ERROR_EXIT_CODE) {
      this.logger.error(`${this.describe(slot, worker)} exited with a configuration error; stopping the cluster`);
      return this.stop('configuration error', 1);
    }
    if (!this.started) {
      this.logger.error(
        `${this.describe(slot, worker)} exited (${how}) before the cluster was ready; stopping the cluster`,
      );
      return this.stop('start-up failed', 1);
    }
    // A child that ran for a while starts the backoff over; one that keeps crashing waits longer each time.
    slot.crashes = Date.now() - slot.startedAt >= (this.options.stableAfterMs ?? 60_000) ? 1 : slot.crashes + 1;
    const delay = Math.min(
      (this.options.restartDelayMs ?? 1_000) * 2 ** (slot.crashes - 1),
      this.options.maxRestartDelayMs ?? 30_000,
    );
    // Exit 0 means the child was stopped on its own (SIGTERM sent to it alone): expected, not an error.
    const message = `${this.describe(slot, worker)} exited (${how}); restarting it in ${delay} ms`;
    if (code === 0) this.logger.warn(message);
    else this.logger.error(message);
    slot.restartTimer = setTimeout(() => this.fork(slot), delay);
  }

  private onSignal(signal: string): void {
    this.signals++;
    if (this.signals === 1) return this.stop(`${signal} received`, 0);
    this.logger.warn(`${signal} received again: killing the ${this.noun} processes now`);
    for (const slot of this.slots) slot.worker?.process.kill('SIGKILL');
    process.exit(1);
  }

  /** Asks every child to shut down gracefully; exits with `exitCode` (or 1 if a child fails to) once all are gone. */
  private stop(why: string, exitCode: number): void {
    if (this.stopping) return;
    this.stopping = true;
    this.exitCode = exitCode;
    for (const slot of this.slots) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
    }
    const live = this.slots.filter((s) => s.worker);
    this.logger.log(
      `${why}: stopping ${live.length} ${this.noun} process(es) (at most ${this.options.shutdownTimeoutMs} ms)`,
    );
    for (const slot of live) this.requestShutdown(slot.worker!);
    setTimeout(() => {
      const left = this.slots.filter((s) => s.worker);
      this.logger.error(
        `${left.map((s) => this.describe(s, s.worker!)).join(', ')} still running after ${this.options.shutdownTimeoutMs} ms: killing`,
      );
      for (const slot of left) slot.worker!.process.kill('SIGKILL');
      process.exit(1);
    }, this.options.shutdownTimeoutMs);
    this.exitWhenAllStopped();
  }

  /** By message rather than by signal: see GracefulShutdown (a child may also have the signal itself). */
  private requestShutdown(worker: Worker): void {
    const bySignal = () => worker.process.kill('SIGTERM');
    if (!worker.isConnected()) return void bySignal();
    try {
      worker.send(SHUTDOWN_MESSAGE, undefined, (err: Error | null) => {
        if (err) bySignal();
      });
    } catch {
      bySignal();
    }
  }

  private exitWhenAllStopped(): void {
    if (this.slots.some((s) => s.worker)) return;
    if (this.exitCode === 0) this.logger.log(`all ${this.noun} processes stopped`);
    process.exit(this.exitCode);
  }
}

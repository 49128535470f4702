import { Logger } from '@nestjs/common';
import cluster from 'node:cluster';
import { isProcessMessage } from './cluster-messages';

/** What a graceful shutdown closes: a Nest application (or application context, or microservice). */
export interface Closable {
  close(): Promise<void>;
}

export interface GracefulShutdownOptions {
  /** Logger context, e.g. "Gateway". */
  role: string;
  /** Bound of the whole close, in milliseconds: past it the process logs an error and exits 1. */
  timeoutMs: number;
}

/** The signals a supervisor (systemd, Kubernetes, Docker, a terminal's Ctrl-C) stops a process with. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Clean exits on SIGINT / SIGTERM, instead of Nest's `enableShutdownHooks()` (which re-raises the signal
 * after closing, so the process dies by signal and supervisors see a failure):
 *
 * - first signal (or, in a cluster child, the primary's shutdown message): `await app.close()` (Nest's
 *   shutdown hooks: the gateway's graceful stop, the worker's drain), then exit 0;
 * - a close that throws: the error is logged, exit 1; a close that outlasts `timeoutMs`: exit 1;
 * - a second signal while closing: exit 1 at once (the operator insists).
 *
 * Installed before the app starts, so a signal during start-up is not lost: the app is closed as soon as
 * {@link attach} hands it over.
 */
export class GracefulShutdown {
  private readonly logger: Logger;
  private app: Closable | null = null;
  private signals = 0;
  private requested = false;

  constructor(private readonly options: GracefulShutdownOptions) {
    this.logger = new Logger(options.role);
  }

  install(): this {
    for (const signal of STOP_SIGNALS) process.on(signal, () => this.onSignal(signal));
    // In a cluster the primary asks its children by message, not by signal: after Ctrl-C in a terminal (or
    // systemd's control-group kill) a child also gets the signal itself, and a forwarded second signal would
    // then read as "exit now". A message on top of a signal is one request.
    if (cluster.isWorker) {
      process.on('message', (message: unknown) => {
        if (isProcessMessage(message, 'shutdown')) this.request('shutdown requested by the primary process');
      });
    }
    return this;
  }

  /** The started app; closed at once if a stop was requested while it was starting. */
  attach(app: Closable): void {
    this.app = app;
    if (this.requested) void this.close(app);
  }

  private onSignal(signal: string): void {
    this.signals++;
    if (this.signals > 1) {
      this.logger.warn(`${signal} received again while shutting down: exiting now`);
      process.exit(1);
    }
    this.request(`${signal} received`);
  }

  private request(why: string): void {
    if (this.requested) return;
    this.requested = true;
    this.logger.log(`${why}: shutting down (at most ${this.options.timeoutMs} ms)`);
    // Not unref'd: whatever the close waits for, the process ends by this bound at the latest.
    setTimeout(() => {
      this.logger.error(`shutdown did not finish within ${this.options.timeoutMs} ms; exiting`);
      process.exit(1);
    }, this.options.timeoutMs);
    if (this.app) void this.close(this.app);
  }

  private async close(app: Closable): Promise<void> {
    try {
      await app.close();
    } catch (err) {
      this.logger.error(`shutdown failed: ${(err as Error)?.message ?? String(err)}`, (err as Error)?.stack);
      process.exit(1);
    }
    this.logger.log('shut down cleanly');
    process.exit(0);
  }
}

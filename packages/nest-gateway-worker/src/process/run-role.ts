import cluster from 'node:cluster';
import { readInteger } from '../config/option-checks';
import { runOrExit } from '../config/run-or-exit';
import { ClusterPrimary } from './cluster-primary';
import { CONFIG_ERROR_EXIT_CODE, READY_MESSAGE } from './cluster-messages';
import { GracefulShutdown, type Closable } from './graceful-shutdown';
import { applyHeapGrowingPercent, readHeapGrowingPercent } from './heap-growth';
import { readProcessCount } from './process-count';
import { setProcessIndex } from './process-index';

/** How an app's `main.ts` runs its role; see {@link runRole}. */
export interface RoleSpec<C> {
  /** Logger context and name in log lines: "Register", "Gateway", "Worker". */
  role: string;
  /** Several processes of this role on one host (a Node cluster). Omitted: always one process (the register). */
  cluster?: {
    /** Variable with the number of processes, e.g. GATEWAY_COUNT: 1 (the default: no cluster) to 64. */
    countVariable: string;
    /** Variable the primary sets on each child with its index 0 .. count-1, e.g. GATEWAY_INDEX. */
    indexVariable: string;
  };
  /**
   * Reads and validates the configuration from the environment, throwing ConfigError for a bad variable. Runs in
   * every process, the cluster primary included, so a bad value stops the primary before it forks anything.
   */
  configure(count: number): C;
  /** Starts the role in this process (`index` is 0 outside a cluster) and returns the started app. */
  start(config: C, index: number): Promise<Closable>;
  /**
   * The role's own drain or shutdown timeout from its validated configuration, in milliseconds (e.g. the
   * gateway's shutdownTimeoutMs, the worker's drainTimeoutMs). A process exits 1 if its graceful shutdown
   * takes {@link SHUTDOWN_MARGIN_MS} longer; a cluster primary waits that plus the margin again for its children.
   */
  shutdownTimeoutMs(config: C): number;
}

/** Extra time past the role's own timeout before a shutdown counts as stuck, in milliseconds (once per level). */
export const SHUTDOWN_MARGIN_MS = 5_000;

/**
 * The entry point of the three apps:
 *
 * - count 1 (the default): validates the configuration, starts the role in this process, and exits 0 after a
 *   graceful shutdown on SIGINT / SIGTERM (see GracefulShutdown);
 * - count > 1: this process becomes a Node cluster primary (see ClusterPrimary) running `count` children,
 *   each of which runs this same entry point and starts the role with its own index;
 * - a bad variable: one line naming it, exit 1; any other start-up failure: logged, exit 1.
 */
export function runRole<C>(spec: RoleSpec<C>): void {
  // A child forked by our primary (not, say, an app run under PM2's cluster mode) reports a configuration
  // error by its exit status, so the primary stops instead of restarting it in a loop.
  const indexVariable = spec.cluster?.indexVariable;
  const forkedByPrimary = cluster.isWorker && indexVariable !== undefined && process.env[indexVariable] !== undefined;
  runOrExit(
    spec.role,
    async () => {
      const count = spec.cluster ? readProcessCount(process.env, spec.cluster.countVariable) : 1;
      const heapGrowingPercent = readHeapGrowingPercent(process.env);
      const config = spec.configure(count);
      // Before the role allocates anything of note (see heap-growth.ts: fewer needless full GCs).
      applyHeapGrowingPercent(heapGrowingPercent);
      if (count > 1 && cluster.isPrimary) {
        await new ClusterPrimary({
          role: spec.role,
          count,
          indexVariable: indexVariable!,
          shutdownTimeoutMs: spec.shutdownTimeoutMs(config) + 2 * SHUTDOWN_MARGIN_MS,
        }).start();
        return;
      }
      const index = forkedByPrimary ? readInteger(process.env, indexVariable!, 0, 0, count - 1) : 0;
      setProcessIndex(index);
      const shutdown = new GracefulShutdown({
        role: spec.role,
        timeoutMs: spec.shutdownTimeoutMs(config) + SHUTDOWN_MARGIN_MS,
      }).install();
      shutdown.attach(await spec.start(config, index));
      if (forkedByPrimary) process.send?.(READY_MESSAGE);
    },
    { configErrorExitCode: forkedByPrimary ? CONFIG_ERROR_EXIT_CODE : 1 },
  );
}

import type { Env } from '../config/environment';

/** Extra time a process gets past its own drain/shutdown timeout before it gives up and exits 1, in ms. */
export const SHUTDOWN_MARGIN_MS = 5_000;

/**
 * The bound of a whole graceful shutdown, in milliseconds: the role's own timeout variable (e.g.
 * WORKER_DRAIN_TIMEOUT_MS, default 30 000; GATEWAY_SHUTDOWN_TIMEOUT_MS, default 10 000) plus
 * {@link SHUTDOWN_MARGIN_MS}.
 *
 * Read leniently on purpose: the variable belongs to the role's own options, which validate it at start-up
 * (a bad value stops the process there with the usual one-line error); here a value that is not a
 * non-negative integer simply falls back to the default, so this reader never reports a variable twice.
 */
export function shutdownBoundMs(env: Env, variable: string, defaultMs: number): number {
  const text = env[variable]?.trim();
  const ms = text && /^\d{1,9}$/.test(text) ? Number(text) : defaultMs;
  return ms + SHUTDOWN_MARGIN_MS;
}

import { ConfigError, type Env } from '../config/environment';
import { readInteger } from '../config/option-checks';

/** Processes of a role on one host by default: one, no cluster. */
export const DEFAULT_PROCESS_COUNT = 1;
/** Most processes of one role a host may run (GATEWAY_COUNT, WORKER_COUNT). */
export const MAX_PROCESS_COUNT = 64;

/**
 * How many processes of a role to run on this host, e.g. GATEWAY_COUNT=4: an integer from 1 (the default:
 * no cluster, the role runs in this process) to {@link MAX_PROCESS_COUNT}.
 */
export function readProcessCount(env: Env, name: string): number {
  return readInteger(env, name, DEFAULT_PROCESS_COUNT, 1, MAX_PROCESS_COUNT);
}

/**
 * Gateway process `index` of a cluster listens for workers on `startPort + index` (PHP's `startPort`
 * semantics); a start port of 0 stays 0, so every process gets its own free port from the OS.
 */
export function innerPortOf(startPort: number, index: number): number {
  return startPort === 0 ? 0 : startPort + index;
}

/**
 * Checks that the inner ports of `count` gateway processes, `startPort` .. `startPort + count - 1`, are all
 * valid ports; throws a ConfigError naming both variables otherwise.
 */
export function checkInnerPortRange(
  startPort: number,
  count: number,
  startPortName = 'GATEWAY_START_PORT',
  countName = 'GATEWAY_COUNT',
): void {
  const last = startPort + count - 1;
  if (startPort !== 0 && last > 65535) {
    throw new ConfigError(
      `${startPortName}=${startPort} is invalid with ${countName}=${count}: the gateway processes need inner ports ` +
        `${startPort} to ${last}, past 65535 (use a start port of at most ${65536 - count}, or 0 for free ports)`,
    );
  }
}

import { readFileSync } from 'node:fs';

/**
 * Share of the process's open-files limit kept from client sockets when `GATEWAY_MAX_CONNECTIONS` is unlimited: the
 * inner links (workers, SDK clients), the register links, listening sockets and log files need descriptors too, and
 * must never be starved by clients.
 */
export const DESCRIPTOR_RESERVE_SHARE = 0.1;
/** Fewest descriptors kept from clients. */
export const MIN_DESCRIPTOR_RESERVE = 64;
/** Most descriptors kept from clients (enough for a thousand inner peers). */
export const MAX_DESCRIPTOR_RESERVE = 1024;

/** Where Linux shows a process's limits. */
const LIMITS_FILE = '/proc/self/limits';

/**
 * The soft limit on open files of this process (`ulimit -n`), or null where it cannot be read (not Linux) or is
 * unlimited.
 */
export function openFilesLimit(limitsFile = LIMITS_FILE): number | null {
  try {
    const line = readFileSync(limitsFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.slice('Max open files'.length).trim().split(/\s+/)[0]);
    return Number.isSafeInteger(soft) && soft > 0 ? soft : null;
  } catch {
    return null;
  }
}

/** Descriptors kept from client sockets out of an open-files limit. */
export function descriptorReserve(limit: number): number {
  return Math.min(
    MAX_DESCRIPTOR_RESERVE,
    Math.max(MIN_DESCRIPTOR_RESERVE, Math.floor(limit * DESCRIPTOR_RESERVE_SHARE)),
  );
}

/** How many client connections a gateway process takes, given the configured cap and the open-files limit. */
export interface DescriptorBudget {
  /** The cap in force (0: unlimited, only where the limit is unknown). */
  maxConnections: number;
  /** The open-files limit read, if any. */
  openFilesLimit: number | null;
  /** Descriptors kept from clients (0 when the limit is unknown). */
  reserve: number;
  /** True when the cap was derived from the limit (the configuration said unlimited). */
  derived: boolean;
  /** True when a configured cap leaves fewer than `reserve` descriptors for everything else. */
  overBudget: boolean;
}

/**
 * The client cap: the configured one when set; when unlimited (0), the open-files limit minus the reserve, so client
 * sockets can never take the descriptors inner links need (a worker or an SDK client must always be able to link).
 */
export function descriptorBudget(configured: number, limit: number | null): DescriptorBudget {
  if (limit === null) {
    return { maxConnections: configured, openFilesLimit: null, reserve: 0, derived: false, overBudget: false };
  }
  const reserve = descriptorReserve(limit);
  const available = Math.max(1, limit - reserve);
  if (configured === 0) {
    return { maxConnections: available, openFilesLimit: limit, reserve, derived: true, overBudget: false };
  }
  return {
    maxConnections: configured,
    openFilesLimit: limit,
    reserve,
    derived: false,
    overBudget: configured > available,
  };
}

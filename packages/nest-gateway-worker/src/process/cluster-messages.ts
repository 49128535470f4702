/**
 * The IPC messages between a cluster primary and its children (Node cluster's built-in channel). Tagged
 * with a property of our own so they never clash with messages an application sends on the same channel.
 */
const TAG = 'gatewayWorkerProcess';

/** child → primary: the role started (listeners bound, app initialised). */
export const READY_MESSAGE = { [TAG]: 'ready' } as const;

/** primary → child: shut down gracefully, as on SIGTERM. */
export const SHUTDOWN_MESSAGE = { [TAG]: 'shutdown' } as const;

export function isProcessMessage(message: unknown, kind: 'ready' | 'shutdown'): boolean {
  return typeof message === 'object' && message !== null && (message as Record<string, unknown>)[TAG] === kind;
}

/**
 * Exit status of a cluster child whose configuration is invalid (EX_CONFIG of sysexits.h). The primary
 * stops the cluster instead of restarting such a child in a loop; a process outside a cluster exits 1.
 */
export const CONFIG_ERROR_EXIT_CODE = 78;

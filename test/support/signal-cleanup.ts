/**
 * Cleanup of what a test process created (network namespaces, redis-server processes) when that process is ended by
 * a signal: `exit` hooks do not run then, so a SIGTERMed or SIGINTed jest run used to leave its namespaces, bridges
 * and servers behind. On SIGTERM, SIGINT or SIGHUP every registered cleanup runs (synchronously, each on its own:
 * one that throws does not stop the others), the handlers are removed, and the signal is raised again, so that
 * the process still ends by that signal (its parent sees the same thing as before, only without the leftovers).
 * Each cleanup removes only what its own module made in this process.
 */

export const CLEANUP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

const cleanups = new Set<() => void>();
let installed = false;

function onSignal(signal: NodeJS.Signals): void {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // the others still run
    }
  }
  cleanups.clear();
  for (const s of CLEANUP_SIGNALS) process.removeListener(s, onSignal);
  installed = false;
  // Raised again with no handler of ours left: the default action ends the process by this signal.
  process.kill(process.pid, signal);
}

/** Runs `cleanup` (synchronous) if this process gets SIGTERM, SIGINT or SIGHUP; returns its removal. */
export function cleanupOnSignal(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  if (!installed) {
    installed = true;
    for (const s of CLEANUP_SIGNALS) process.on(s, onSignal);
  }
  return () => cleanups.delete(cleanup);
}

/**
 * The index of this process among the processes of its role on this host: `i` in a `*_COUNT=n` cluster child
 * started by {@link runRole} (0 … n-1), 0 otherwise. Set once by runRole before the role starts; what depends on
 * it per process (the admin listener's port + i) reads it here instead of every app passing it along.
 */
let current = 0;

/** This process's index in its role's cluster (0 outside a cluster). */
export function processIndex(): number {
  return current;
}

/** runRole: this process is child `index` of its role's cluster. */
export function setProcessIndex(index: number): void {
  current = index;
}

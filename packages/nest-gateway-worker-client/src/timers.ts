/**
 * The host's timers and console, read from `globalThis` when called (so fake timers in tests apply), typed here so
 * that the library needs neither the DOM nor Node's type declarations.
 */
export type TimerHandle = unknown;

interface HostGlobals {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  console?: { error(...args: unknown[]): void };
}

const host = globalThis as unknown as HostGlobals;

export function setTimer(callback: () => void, ms: number): TimerHandle {
  return host.setTimeout(callback, ms);
}

export function clearTimer(handle: TimerHandle | null): void {
  if (handle !== null) host.clearTimeout(handle);
}

/** Reports an error thrown by an application callback, where the host shows errors. */
export function reportError(message: string, error: unknown): void {
  host.console?.error(message, error);
}

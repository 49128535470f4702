import { reportError } from './timers.js';

/**
 * Callbacks by key, called in the order they were added. A callback that throws does not stop the others: the error
 * goes to `onError` (the client's `error` hook), or to the console.
 */
export class Listeners<Events extends object> {
  private readonly byKey = new Map<keyof Events, Set<(value: never) => void>>();

  constructor(private readonly onError?: (error: unknown, key: keyof Events) => void) {}

  /** Adds a callback; returns the function that removes it. */
  add<K extends keyof Events>(key: K, callback: (value: Events[K]) => void): () => void {
    let set = this.byKey.get(key);
    if (!set) this.byKey.set(key, (set = new Set()));
    const entry = callback as (value: never) => void;
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.byKey.get(key) === set) this.byKey.delete(key);
    };
  }

  has(key: keyof Events): boolean {
    return this.byKey.has(key);
  }

  emit<K extends keyof Events>(key: K, value: Events[K]): void {
    const set = this.byKey.get(key);
    if (!set) return;
    for (const callback of [...set]) {
      try {
        (callback as (value: Events[K]) => void)(value);
      } catch (error) {
        if (this.onError) this.onError(error, key);
        else reportError(`nest-gateway-worker-client: a "${String(key)}" callback threw`, error);
      }
    }
  }
}

import { REPLY_DATA_FIELD, REPLY_ERROR_FIELD, REPLY_STATUS_FIELD } from './conventions.js';
import { RequestError, RequestTimeoutError } from './errors.js';
import { clearTimer, setTimer, type TimerHandle } from './timers.js';

/** A request not answered within this long rejects with RequestTimeoutError (ms). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

interface Pending {
  type: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: TimerHandle;
}

/**
 * The requests in flight on one client: ids (1, 2, 3, ... for the client's life), each with its timeout, settled by
 * the reply envelope that echoes its id (`{"$rid":1,"data":...}` or `{"$rid":1,"error":"...","statusCode":400}`).
 */
export class PendingRequests {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  get size(): number {
    return this.pending.size;
  }

  /** A new request of `type`: its id, and the promise its reply settles (rejected after `timeoutMs`). */
  open(type: string, timeoutMs: number): { id: number; reply: Promise<unknown> } {
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0))
      throw new RangeError(`timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`);
    const id = this.nextId++;
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = setTimer(() => {
        this.pending.delete(id);
        reject(new RequestTimeoutError(type, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { type, resolve, reject, timer });
    });
    return { id, reply };
  }

  /** Whether `id` is one this client handed out (a reply to it is ours, even when it comes too late). */
  issued(id: unknown): boolean {
    return typeof id === 'number' && Number.isInteger(id) && id >= 1 && id < this.nextId;
  }

  /** Settles the request a reply envelope answers; false when none waits for it (timed out, or not ours). */
  answer(id: unknown, envelope: Record<string, unknown>): boolean {
    const request = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!request) return false;
    this.pending.delete(id as number);
    clearTimer(request.timer);
    const error = envelope[REPLY_ERROR_FIELD];
    if (error !== undefined) {
      const status = envelope[REPLY_STATUS_FIELD];
      request.reject(new RequestError(String(error), typeof status === 'number' ? status : undefined, request.type));
    } else {
      request.resolve(envelope[REPLY_DATA_FIELD]);
    }
    return true;
  }

  /** Rejects every request in flight with `error` (the connection ended). */
  failAll(error: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const request of all) {
      clearTimer(request.timer);
      request.reject(error);
    }
  }
}

import type { QueryOutcome, QueryTimings } from '../ops/metrics/query-timings';
import type { GatewayFrame } from '../protocol/frame';
import { decodeReply } from '../protocol/gateway-request';
import { GatewayTimeoutError, GatewayUnavailableError } from './gateway-errors';

interface PendingRequest {
  /** The gateway the request went to: only its link may answer it. */
  address: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  /** performance.now() when it was sent (0 when nothing measures). */
  sentAt: number;
}

/**
 * The requests (R/R commands) in flight on the links of one pool, by request id: Nest's `routingMap` shape. The
 * gateway answers with a Reply frame whose connection id is the request id, on the link the request came on, so
 * many requests share one link and are answered in any order, each bounded by its own timer. One id space serves
 * every gateway; a reply settles its request only when it comes from the gateway the request was sent to.
 */
export class RequestTracker {
  private readonly pending = new Map<number, PendingRequest>();
  private lastId = 0;
  /** Where the durations of requests go (the admin listener's metrics); null: not measured. */
  timings: QueryTimings | null = null;

  /** Requests waiting for their reply. */
  get size(): number {
    return this.pending.size;
  }

  /** A new request id: 1 … 2^32-1 (the frame's connection id field), wrapping. */
  nextId(): number {
    return (this.lastId = this.lastId >= 0xffffffff ? 1 : this.lastId + 1);
  }

  /**
   * Waits for the reply to request `rid` sent to `address`: resolves with its result, rejects with the gateway's
   * GatewayRequestError, or with GatewayTimeoutError (naming `timeoutMs`, the caller's whole limit) when no reply
   * came within `waitMs` (what is left of it).
   */
  wait(rid: number, address: string, waitMs: number, timeoutMs: number): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const sentAt = this.timings !== null ? performance.now() : 0;
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        this.measure(sentAt, 'timeout');
        reject(new GatewayTimeoutError(address, timeoutMs));
      }, waitMs);
      this.pending.set(rid, { address, resolve, reject, timer, sentAt });
    });
  }

  /** Request `rid` cannot be answered (it was not sent): it rejects with `err` now. */
  fail(rid: number, err: Error): void {
    const request = this.pending.get(rid);
    if (!request) return;
    this.pending.delete(rid);
    clearTimeout(request.timer);
    this.measure(request.sentAt, 'unavailable');
    request.reject(err);
  }

  /** A Reply frame from `address`: settles its request. A reply after its timeout, or from another gateway, is dropped. */
  settle(reply: GatewayFrame, address: string): void {
    const request = this.pending.get(reply.connectionId);
    if (!request || request.address !== address) return;
    this.pending.delete(reply.connectionId);
    clearTimeout(request.timer);
    let result: unknown;
    try {
      result = decodeReply(reply.ext, reply.body);
    } catch (err) {
      this.measure(request.sentAt, 'error');
      return request.reject(err as Error);
    }
    this.measure(request.sentAt, 'ok');
    request.resolve(result);
  }

  /** The link to `address` closed: every request waiting for it rejects with GatewayUnavailableError(`reason`). */
  failAll(address: string, reason: string): void {
    for (const [rid, request] of this.pending) {
      if (request.address !== address) continue;
      this.pending.delete(rid);
      clearTimeout(request.timer);
      this.measure(request.sentAt, 'unavailable');
      request.reject(new GatewayUnavailableError(address, reason));
    }
  }

  private measure(sentAt: number, outcome: QueryOutcome): void {
    const timings = this.timings;
    if (timings !== null && sentAt !== 0) timings.observe(outcome, (performance.now() - sentAt) / 1000);
  }
}

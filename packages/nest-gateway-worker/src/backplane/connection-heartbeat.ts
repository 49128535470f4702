import { REDIS_SOCKET_TIMEOUT_MS, type RedisConnection } from './redis-connection';

/** How often a pub/sub connection is PINGed, in milliseconds. */
export const HEARTBEAT_INTERVAL_MS = 1_000;
/**
 * A PING left unanswered this long makes the heartbeat close the connection, which ioredis then reopens (and its
 * owner subscribes again), in milliseconds. The connection's socket timeout (which applies once a PING waits) does
 * the same at about this time; this is the heartbeat's own bound, so that liveness does not depend on it.
 */
export const HEARTBEAT_TIMEOUT_MS = REDIS_SOCKET_TIMEOUT_MS;

/** The part of a connection a heartbeat uses. */
export type HeartbeatConnection = Pick<RedisConnection, 'status' | 'call' | 'disconnect' | 'on'>;

/**
 * Liveness of a connection that never has commands of its own waiting: a pub/sub connection (discovery notices,
 * the directory cache's invalidation notices). Such a connection is silent by design, so after a silent partition
 * (packets dropped, no reset) nothing notices it is dead: ioredis's socket timeout applies only while commands wait,
 * and the notices published meanwhile are lost or wait for the kernel's backed-off retransmissions (minutes after a
 * long cut). The heartbeat PINGs it every {@link HEARTBEAT_INTERVAL_MS} while `active()` (PING is allowed in
 * subscribe mode); a PING unanswered for {@link HEARTBEAT_TIMEOUT_MS} closes the connection, which is reopened.
 * `confirmedAt` is the send time of the last PING answered: Redis answers a PING after everything it queued on that
 * connection before it, so every notice published before that time has arrived.
 */
export class ConnectionHeartbeat {
  /** Send time of the last PING answered (0: none yet). */
  confirmedAt = 0;
  /** Connections this heartbeat closed because a PING went unanswered (tests and logs). */
  reopened = 0;
  /** Send time of the PING awaiting its answer on the current connection (null: none). */
  private pendingSince: number | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly connection: HeartbeatConnection,
    /** Told when the heartbeat closes the connection (the owner logs it, rate-limited). */
    private readonly onTimeout: (silentMs: number) => void,
    private readonly active: () => boolean = () => true,
    private readonly intervalMs = HEARTBEAT_INTERVAL_MS,
    private readonly timeoutMs = HEARTBEAT_TIMEOUT_MS,
  ) {
    // A new connection: a PING sent on the one before will never be answered here.
    connection.on('ready', () => (this.pendingSince = null));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.beat(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.pendingSince = null;
  }

  private beat(): void {
    if (this.connection.status !== 'ready') {
      this.pendingSince = null;
      return;
    }
    const now = Date.now();
    if (this.pendingSince !== null) {
      if (now - this.pendingSince < this.timeoutMs) return;
      // No answer: the connection is dead (or Redis is hung); a new one gets a new subscription.
      const silentMs = now - this.pendingSince;
      this.pendingSince = null;
      this.reopened++;
      this.onTimeout(silentMs);
      this.connection.disconnect(true);
      return;
    }
    if (!this.active()) return;
    const sent = now;
    this.pendingSince = sent;
    this.connection.call('ping').then(
      () => {
        if (this.pendingSince === sent) this.pendingSince = null;
        if (sent > this.confirmedAt) this.confirmedAt = sent;
      },
      // A PING that failed (its command timeout, a closed connection): it stays pending on this connection, and
      // the next beat past the timeout closes it, unless it was closed already (status, or 'ready' again).
      () => undefined,
    );
  }
}

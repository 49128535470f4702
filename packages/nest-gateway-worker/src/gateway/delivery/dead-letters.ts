import { Logger } from '@nestjs/common';
import { RateLimitedWarning } from '../../logging/rate-limited-warning';
import { deadLetterKindOf, encodeDeadLetterFrame } from '../../protocol/dead-letter-frame';
import type { ClientConnection } from '../client-connection';
import type { GatewayAddress } from '../gateway-address';
import type { GatewayCounters } from '../gateway-stats';
import type { WorkerChannel } from './worker-channel';

/** Dead letters held at most while no worker is linked; past it a new one is dropped. */
export const MAX_HELD_DEAD_LETTERS = 100;
/** The same bound in bytes (their bodies): a dead letter may be as large as a client message. */
export const MAX_HELD_DEAD_LETTER_BYTES = 16 * 1024 * 1024;

/** A dead letter waiting for a worker: its encoded DeadLetter frame. */
interface HeldLetter {
  frame: Buffer;
  clientId: string;
  bodyBytes: number;
  heldAt: number;
}

/** Where a dead letter can go now. */
export type DeadLetterRecipient =
  /** This worker has an `@OnDeadLetter()` handler and takes events. */
  | WorkerChannel
  /** No worker takes events now (none linked, all draining): hold it until one does. */
  | 'wait'
  /** Workers take events, none has an `@OnDeadLetter()` handler: drop it. */
  | 'none';

/**
 * The recipient of a dead letter among `workers`: an open, not draining worker with an `@OnDeadLetter()` handler,
 * preferring one that is not busy with an isolated event, then the one with the fewest clients.
 */
export function deadLetterRecipient(workers: Iterable<WorkerChannel>): DeadLetterRecipient {
  let best: WorkerChannel | undefined;
  let anyTakesEvents = false;
  for (const w of workers) {
    if (!w.isOpen || w.draining) continue;
    anyTakesEvents = true;
    if (!w.takesDeadLetters) continue;
    if (!best || (best.isolating && !w.isolating) || (best.isolating === w.isolating && w.assigned < best.assigned)) {
      best = w;
    }
  }
  return best ?? (anyTakesEvents ? 'none' : 'wait');
}

/**
 * The gateway's side of dead letters (see DeliveryLimit): each dead-lettered event goes, at most once and never
 * acknowledged, to one worker that announced an `@OnDeadLetter()` handler. While no worker takes events (none
 * linked, all draining) it is held, bounded by {@link MAX_HELD_DEAD_LETTERS}, {@link MAX_HELD_DEAD_LETTER_BYTES} and
 * the pending age bound; when the workers that take events have no such handler, it is dropped. Every dead letter is
 * counted (deadLetteredEvents) and logged with its client_id and size, never its body; so is every drop
 * (deadLettersDropped). Both lines are rate-limited: a client can cause them.
 */
export class DeadLetters {
  private readonly logger = new Logger('Gateway');
  private readonly deadLettered = new RateLimitedWarning(
    this.logger,
    (n) => `${n} more event(s) dead-lettered since the last warning`,
  );
  private readonly dropped = new RateLimitedWarning(
    this.logger,
    (n) => `${n} more dead letter(s) dropped since the last warning`,
  );
  private held: HeldLetter[] = [];
  private heldBytes = 0;

  constructor(
    private readonly address: GatewayAddress,
    private readonly counters: GatewayCounters,
    /** How long a dead letter may wait for a worker, in ms (the pending age bound). */
    private readonly maxAgeMs: number,
  ) {}

  /** Dead letters waiting for a worker. */
  get size(): number {
    return this.held.length;
  }

  /**
   * An event of `client` was in flight at `deaths` worker deaths: counts it, logs it, and hands it to a worker
   * among `workers` that takes dead letters, holds it, or drops it (see the class).
   */
  post(
    client: ClientConnection,
    cmd: number,
    flag: number,
    body: Buffer,
    deaths: number,
    workers: Iterable<WorkerChannel>,
    now = Date.now(),
  ): void {
    this.counters.deadLetteredEvents++;
    const clientId = this.address.clientId(client);
    const kind = deadLetterKindOf(cmd) ?? 'message';
    const letter: HeldLetter = {
      frame: encodeDeadLetterFrame(
        {
          localIp: this.address.lanIp,
          localPort: this.address.innerPort,
          clientIp: client.remoteIp,
          clientPort: client.remotePort,
          connectionId: client.id,
          flag,
          gatewayPort: this.address.clientPort,
        },
        client.uid === null ? { kind, deaths } : { kind, deaths, uid: client.uid },
        body,
      ),
      clientId,
      bodyBytes: body.length,
      heldAt: now,
    };
    const to = deadLetterRecipient(workers);
    const fate =
      to === 'none'
        ? 'dropped: no linked worker has an @OnDeadLetter() handler'
        : to === 'wait'
          ? 'held until a worker is linked'
          : `handed to worker ${to.workerKey}`;
    this.deadLettered.warn(
      `client ${clientId}: its ${kind} event (${body.length} bytes) was in flight at ${deaths} worker death(s): ` +
        `dead-lettered, never delivered again, client closed; ${fate}`,
    );
    if (to === 'none') {
      this.counters.deadLettersDropped++;
      return;
    }
    if (to !== 'wait') {
      to.link.send(letter.frame);
      return;
    }
    if (this.held.length >= MAX_HELD_DEAD_LETTERS || this.heldBytes + body.length > MAX_HELD_DEAD_LETTER_BYTES) {
      return this.drop(letter, `more than ${MAX_HELD_DEAD_LETTERS} dead letters or their bytes were waiting`);
    }
    this.held.push(letter);
    this.heldBytes += body.length;
  }

  /** Workers changed (one linked, one drains): hands the held dead letters on, or drops them (see the class). */
  flush(workers: Iterable<WorkerChannel>): void {
    if (this.held.length === 0) return;
    const channels = [...workers];
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const letter of held) {
      const to = deadLetterRecipient(channels);
      if (to === 'wait') {
        this.held.push(letter);
        this.heldBytes += letter.bodyBytes;
      } else if (to === 'none') {
        this.drop(letter, 'no linked worker has an @OnDeadLetter() handler');
      } else {
        to.link.send(letter.frame);
        this.logger.debug(`dead letter of client ${letter.clientId} handed to worker ${to.workerKey}`);
      }
    }
  }

  /** Drops the dead letters that waited longer than the age bound. */
  sweep(now = Date.now()): void {
    if (this.held.length === 0) return;
    const cutoff = now - this.maxAgeMs;
    const kept: HeldLetter[] = [];
    for (const letter of this.held) {
      if (letter.heldAt >= cutoff) kept.push(letter);
      else {
        this.heldBytes -= letter.bodyBytes;
        this.drop(letter, `no worker was linked within ${this.maxAgeMs} ms`);
      }
    }
    this.held = kept;
  }

  private drop(letter: HeldLetter, why: string): void {
    this.counters.deadLettersDropped++;
    this.dropped.warn(`dead letter of client ${letter.clientId} (${letter.bodyBytes} bytes) dropped: ${why}`);
  }
}

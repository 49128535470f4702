/**
 * The bound on redelivery (GATEWAY_MAX_EVENT_DEATHS, `maxEventDeaths`), as RabbitMQ's delivery-limit and SQS's
 * maxReceiveCount bound theirs: an event whose handler kills its worker (a native crash, `process.exit`, out of
 * memory) would otherwise go to the next worker and kill it too, without end.
 *
 * - A **death** of an event: the link to the worker it was sent to closed while the event was unacknowledged,
 *   and the worker was not draining. A drain that hands events back (its timeout passed) is a graceful stop, not
 *   a death.
 * - An event in flight at `maxDeaths` deaths is **dead-lettered**: never delivered again, handed at most once to
 *   a worker's `@OnDeadLetter()` handler; its client is closed.
 * - Blame: at a death every unacknowledged event of that link gets one more death, the innocent ones in flight
 *   beside the culprit too (the gateway cannot tell which handler was running). So that only a culprit reaches the
 *   limit, an event one death short of it is **isolated**: sent to a worker only when that worker has no other
 *   unacknowledged event, and the worker gets nothing else until it acknowledges it. A death then has exactly one
 *   event to blame. (With a limit of 1 there is no room for that: every event in flight at a death is
 *   dead-lettered.)
 *
 * A limit of 0 turns all of this off: redelivery without bound.
 */
export class DeliveryLimit {
  constructor(
    /** Deaths after which an event is dead-lettered; 0 = never. */
    readonly maxDeaths: number,
  ) {}

  /** The deaths of an event that was unacknowledged when its link closed (`graceful`: the worker was draining). */
  afterLinkLoss(deaths: number, graceful: boolean): number {
    return graceful ? deaths : deaths + 1;
  }

  /** Whether an event with this many deaths is dead-lettered instead of delivered again. */
  deadLetters(deaths: number): boolean {
    return this.maxDeaths > 0 && deaths >= this.maxDeaths;
  }

  /** Whether an event with this many deaths is isolated when delivered again (one death short of the limit). */
  isolates(deaths: number): boolean {
    return this.maxDeaths >= 2 && deaths >= this.maxDeaths - 1;
  }
}

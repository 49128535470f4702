import type { GatewayStats } from '../../protocol/connection-stats';

/** Shortest window a rate is computed over, in ms: closer samples (several open pages) keep the last rate. */
export const MIN_RATE_WINDOW_MS = 1_000;

/** Messages per second of one gateway over the last window; null until two samples are far enough apart. */
export interface GatewayMessageRates {
  messagesInPerSecond: number | null;
  messagesOutPerSecond: number | null;
}

interface Sample {
  at: number;
  uptimeMs: number;
  messagesIn: number;
  messagesOut: number;
  rates: GatewayMessageRates;
}

const UNKNOWN: GatewayMessageRates = { messagesInPerSecond: null, messagesOutPerSecond: null };

/**
 * Message rates per gateway, from the counters of successive getGatewayStats answers: (counter now − counter
 * then) / elapsed time, over at least MIN_RATE_WINDOW_MS. A gateway whose uptime went down was restarted at the
 * same address: its rates start over. Gateways absent from an answer are forgotten.
 */
export class MessageRates {
  private readonly samples = new Map<string, Sample>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records this answer and returns each gateway's rates (by address). */
  update(stats: readonly GatewayStats[]): Map<string, GatewayMessageRates> {
    const at = this.now();
    const out = new Map<string, GatewayMessageRates>();
    for (const address of [...this.samples.keys()]) {
      if (!stats.some((s) => s.address === address)) this.samples.delete(address);
    }
    for (const s of stats) {
      const previous = this.samples.get(s.address);
      const current = {
        at,
        uptimeMs: s.uptimeMs,
        messagesIn: s.counters.messagesIn,
        messagesOut: s.counters.messagesOut,
      };
      if (!previous || s.uptimeMs < previous.uptimeMs) {
        this.samples.set(s.address, { ...current, rates: UNKNOWN });
        out.set(s.address, UNKNOWN);
        continue;
      }
      const elapsedMs = at - previous.at;
      if (elapsedMs < MIN_RATE_WINDOW_MS) {
        out.set(s.address, previous.rates);
        continue;
      }
      const perSecond = (now: number, then: number) => Math.max(0, ((now - then) * 1000) / elapsedMs);
      const rates = {
        messagesInPerSecond: perSecond(current.messagesIn, previous.messagesIn),
        messagesOutPerSecond: perSecond(current.messagesOut, previous.messagesOut),
      };
      this.samples.set(s.address, { ...current, rates });
      out.set(s.address, rates);
    }
    return out;
  }
}

import type { HistoryAppendOptions, HistoryPosition } from '../backplane/history-store';
import { PRESENCE_FLUSH_DELAY_MS } from '../backplane/presence-publisher';
import type { SendOptions } from './delivery-receipt';

/** Most messages `recover` replays by default; a client that missed more is told `recovered: false` ('limit'). */
export const DEFAULT_RECOVER_LIMIT = 1_000;
/** Messages read from Redis per round trip while recovering. */
export const RECOVER_PAGE = 100;
/**
 * Longest `recover` waits for the presence directory to name the client's gateway for its uid or group (normally
 * one flush, {@link PRESENCE_FLUSH_DELAY_MS}, plus a round trip), before it reads the history all the same.
 */
export const RECOVER_LISTED_WAIT_MS = 2_000;
/** How often it looks meanwhile. */
export const RECOVER_LISTED_POLL_MS = PRESENCE_FLUSH_DELAY_MS / 2;

/** sendToUid / sendToGroup with history (the Redis backplane). */
export interface HistorySendOptions extends SendOptions {
  /**
   * Keep the message in the uid's or group's history (a Redis Stream) before sending it: `true` for the defaults
   * (the last 100 messages, for 5 minutes after the latest), or `{ size, ttlMs }`. A JSON object message is sent
   * with its position in `"$offset"`.
   */
  history: true | HistoryAppendOptions;
}

/** Where a message sent with history was kept. */
export interface HistorySent extends HistoryPosition {
  /** `<epoch>:<offset>`, as in the message's `$offset` and in what `recover` accepts. */
  position: string;
}

export interface RecoverOptions {
  /** Most messages replayed (1 … 1 000 000); a client that missed more gets none and `reason: 'limit'`. Default 1 000. */
  limit?: number;
}

/** What `recover` did. */
export interface RecoverResult {
  /** The client now has every message of the history after its position (replayed), and gets the next ones live. */
  recovered: boolean;
  /**
   * Why not: `no-position` (none reported, or not a position), `epoch` (the history was lost and restarted, or the
   * position is not one of this history), `trimmed` (messages after it are gone: size or age), `limit` (more than
   * `limit` missed: none replayed), `unreadable` (entries sealed under another SECRET_KEY), `offline` (the client
   * is gone), `unavailable` (Redis failed or did not answer: the membership is done, the history was not read).
   */
  reason?: 'no-position' | 'epoch' | 'trimmed' | 'limit' | 'unreadable' | 'offline' | 'unavailable';
  /** Messages sent to the client. */
  replayed: number;
  /** The history's position now, `<epoch>:<offset>` ("" when it has none yet, or it could not be read). */
  position: string;
  /**
   * Which history, as messages name it in `$stream` and the client library keys its offsets: `uid:<uid>` or
   * `group:<group>`. Give the client `position` under it (e.g. a welcome message's `$offsets: { [stream]: position }`).
   */
  stream: string;
}

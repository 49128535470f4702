import { Logger } from '@nestjs/common';
import { formatHistoryPosition, parseHistoryPosition } from '../backplane/history-position';
import type { HistoryPosition, HistoryRecovery, HistoryStore } from '../backplane/history-store';
import { RateLimitedWarning } from '../logging/rate-limited-warning';
import { deliveredFields, historyStreamOf } from './history-message';
import {
  DEFAULT_RECOVER_LIMIT,
  RECOVER_LISTED_POLL_MS,
  RECOVER_LISTED_WAIT_MS,
  RECOVER_PAGE,
  type RecoverResult,
} from './history-options';

/** What a recovery needs from the GatewayClient it runs in. */
export interface RecoveryCalls {
  /** bindUid / joinGroup. */
  join(clientId: string, kind: 'uid' | 'group', target: string): Promise<void>;
  /** A request to the client's gateway on the same link (answered after the join): whether it is online. */
  isOnline(clientId: string): Promise<boolean>;
  /** Whether every sender reaches the client's gateway with calls about the uid or group (GatewayTargeting). */
  reaches(clientId: string, kind: 'uid' | 'group', target: string): Promise<boolean | null>;
  /** A fire-and-forget SendToOne with these frame fields, in order with the calls before it. */
  send(clientId: string, fields: { flag: number; body: Buffer }): Promise<void>;
}

/**
 * One `GatewayClient.recover`. Membership first: joined, confirmed by a round trip to the client's gateway (the
 * join is in effect there), and visible to every sender (the presence directory names that gateway for the uid or
 * group: polled, up to {@link RECOVER_LISTED_WAIT_MS}). Only then is the history read, up to its top: every message
 * kept after that read is sent after it too, by a sender that finds the client's gateway, so it arrives live; the
 * ones up to the top are replayed, page by page, in order. A message can come both ways (sent live after the join
 * and read): the same `$offset` and text, which the client library drops. Problems are answered as data
 * (`recovered: false` and a reason), never thrown: a stranger's `since`, a lost history, Redis unavailable.
 */
export class HistoryReplay {
  private readonly logger = new Logger('History');
  private readonly unavailable = new RateLimitedWarning(
    this.logger,
    (n) => `${n} more recoveries without the history (Redis unavailable) since the last warning`,
  );

  private readonly notListed = new RateLimitedWarning(
    this.logger,
    (n) => `${n} more recoveries read before the directory listed the client's gateway since the last warning`,
  );

  constructor(
    private readonly store: HistoryStore,
    private readonly calls: RecoveryCalls,
  ) {}

  async recover(
    clientId: string,
    kind: 'uid' | 'group',
    target: string,
    since: string | HistoryPosition | null | undefined,
    limit = DEFAULT_RECOVER_LIMIT,
  ): Promise<RecoverResult> {
    await this.calls.join(clientId, kind, target);
    const stream = historyStreamOf(kind, target);
    try {
      return { ...(await this.replay(clientId, kind, target, since, limit)), stream };
    } catch (err) {
      this.unavailable.warn(
        `history of a ${kind} unavailable, the client was not recovered: ${(err as Error).message}`,
      );
      return { recovered: false, reason: 'unavailable', replayed: 0, position: '', stream };
    }
  }

  /**
   * Waits until every sender reaches the client's gateway for the target (or {@link RECOVER_LISTED_WAIT_MS} passed:
   * then a sender may still miss it live for a moment, the directory's consistency window, and it is logged).
   */
  private async visible(clientId: string, kind: 'uid' | 'group', target: string): Promise<void> {
    const deadline = Date.now() + RECOVER_LISTED_WAIT_MS;
    while (!(await this.calls.reaches(clientId, kind, target))) {
      if (Date.now() >= deadline) {
        this.notListed.warn(`the directory did not list a recovering client's gateway for its ${kind} in time`);
        return;
      }
      await sleep(RECOVER_LISTED_POLL_MS);
    }
  }

  private async replay(
    clientId: string,
    kind: 'uid' | 'group',
    target: string,
    since: string | HistoryPosition | null | undefined,
    limit: number,
  ): Promise<Omit<RecoverResult, 'stream'>> {
    const stream = historyStreamOf(kind, target);
    const online = await this.calls.isOnline(clientId);
    if (online) await this.visible(clientId, kind, target);
    const from = typeof since === 'string' ? parseHistoryPosition(since) : (since ?? null);
    if (!online || from === null) {
      const top = (await this.store.recover(kind, target, null, 1)).top;
      const reason = online ? 'no-position' : 'offline';
      return { recovered: false, reason, replayed: 0, position: formatHistoryPosition(top) };
    }
    const first = await this.store.recover(kind, target, from, Math.min(RECOVER_PAGE, limit));
    let position = formatHistoryPosition(first.top);
    if (first.top.epoch !== from.epoch || from.offset > first.top.offset)
      return { recovered: false, reason: 'epoch', replayed: 0, position };
    if (first.top.offset - from.offset > limit) return { recovered: false, reason: 'limit', replayed: 0, position };
    let replayed = 0;
    let reason = gap(first);
    let page: HistoryRecovery = first;
    let at: HistoryPosition = from;
    for (;;) {
      for (const entry of page.entries) {
        const offset = formatHistoryPosition({ offset: entry.offset, epoch: from.epoch });
        await this.calls.send(clientId, deliveredFields({ format: entry.format, body: entry.data }, offset, stream));
        replayed++;
      }
      if (page.entries.length > 0) at = { offset: page.entries[page.entries.length - 1].offset, epoch: from.epoch };
      if (!page.more) break;
      if (replayed >= limit) {
        reason ??= 'limit';
        break;
      }
      page = await this.store.recover(kind, target, at, Math.min(RECOVER_PAGE, limit - replayed));
      // The position handed back is the top of the last read (what the client has now, live or replayed).
      position = formatHistoryPosition(page.top);
      if (page.top.epoch !== from.epoch) {
        reason ??= 'epoch';
        break;
      }
      reason ??= gap(page);
    }
    return reason ? { recovered: false, reason, replayed, position } : { recovered: true, replayed, position };
  }
}

/** Resolves after `ms`. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Why a page does not continue its position, if it does not. */
function gap(page: HistoryRecovery): RecoverResult['reason'] {
  return page.recovered ? undefined : page.unreadable > 0 ? 'unreadable' : 'trimmed';
}

import { Logger } from '@nestjs/common';
import { formatHistoryPosition, parseHistoryPosition } from '../backplane/history-position';
import type { HistoryPosition, HistoryRecovery, HistoryStore } from '../backplane/history-store';
import { RateLimitedWarning } from '../logging/rate-limited-warning';
import { deliveredFields } from './history-message';
import { DEFAULT_RECOVER_LIMIT, RECOVER_PAGE, RECOVER_SETTLE_MS, type RecoverResult } from './history-options';

/** What a recovery needs from the GatewayClient it runs in. */
export interface RecoveryCalls {
  /** bindUid / joinGroup. */
  join(clientId: string, kind: 'uid' | 'group', target: string): Promise<void>;
  /** A request to the client's gateway on the same link (answered after the join): whether it is online. */
  isOnline(clientId: string): Promise<boolean>;
  /** A fire-and-forget SendToOne with these frame fields, in order with the calls before it. */
  send(clientId: string, fields: { flag: number; body: Buffer }): Promise<void>;
}

/**
 * One `GatewayClient.recover`: membership first (joined, then confirmed by a round trip to the client's gateway),
 * then the history after the client's position, page by page, sent to the client in order; then, after
 * {@link RECOVER_SETTLE_MS}, one more read for what a sender kept while the presence directory did not list the
 * client's gateway yet. Live delivery and the replay may both carry a message: the same `$offset` and text, which
 * the client library drops. Problems are answered as data (`recovered: false` and a reason), never thrown: a
 * stranger's `since`, a lost history, Redis unavailable.
 */
export class HistoryReplay {
  private readonly logger = new Logger('History');
  private readonly unavailable = new RateLimitedWarning(
    this.logger,
    (n) => `${n} more recoveries without the history (Redis unavailable) since the last warning`,
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
    try {
      return await this.replay(clientId, kind, target, since, limit);
    } catch (err) {
      this.unavailable.warn(
        `history of a ${kind} unavailable, the client was not recovered: ${(err as Error).message}`,
      );
      return { recovered: false, reason: 'unavailable', replayed: 0, position: '' };
    }
  }

  private async replay(
    clientId: string,
    kind: 'uid' | 'group',
    target: string,
    since: string | HistoryPosition | null | undefined,
    limit: number,
  ): Promise<RecoverResult> {
    const online = await this.calls.isOnline(clientId);
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
    for (let settled = false; ;) {
      for (const entry of page.entries) {
        const offset = formatHistoryPosition({ offset: entry.offset, epoch: from.epoch });
        await this.calls.send(clientId, deliveredFields({ format: entry.format, body: entry.data }, offset));
        replayed++;
      }
      if (page.entries.length > 0) at = { offset: page.entries[page.entries.length - 1].offset, epoch: from.epoch };
      if (page.more) {
        if (replayed >= limit) {
          reason ??= 'limit';
          break;
        }
      } else {
        // Once more after the directory's flush: a sender that looked the target up before it listed this
        // client's gateway skipped the client live; what it kept meanwhile is replayed now.
        if (settled) break;
        settled = true;
        await new Promise((resolve) => setTimeout(resolve, RECOVER_SETTLE_MS));
      }
      page = await this.store.recover(kind, target, at, Math.min(RECOVER_PAGE, Math.max(1, limit - replayed)));
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

/** Why a page does not continue its position, if it does not. */
function gap(page: HistoryRecovery): RecoverResult['reason'] {
  return page.recovered ? undefined : page.unreadable > 0 ? 'unreadable' : 'trimmed';
}
